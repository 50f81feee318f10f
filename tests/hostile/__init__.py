"""Hostile-input tests (a package, so module names such as test_batch do not clash with tests/)."""

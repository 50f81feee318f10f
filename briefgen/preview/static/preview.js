// The preview page: fills the switchers from /menu.json, follows /events and reloads each tab's
// frame when its file has a newer generation (the HTML keeps its scroll position), and shows the
// problems of a failed rebuild over the last good version. Text from the server is set as text,
// never as HTML.
"use strict";

const shown = { "brief.html": -1, "brief.pdf": -1, "pages.pdf": -1 };
const frames = { "brief.html": "frame-html", "brief.pdf": "frame-pdf", "pages.pdf": "frame-word" };
const labels = { "brief.html": "HTML", "brief.pdf": "PDF", "brief.docx": "Word" };
let menu = null;
let switchersSet = false;

function $(id) { return document.getElementById(id); }

// A switcher by name (not form.elements[name]: "length" is the number of the form's elements).
function field(name) { return $("switchers").querySelector(`[name="${name}"]`); }

function option(select, value, label) {
  const item = document.createElement("option");
  item.value = value;
  item.textContent = label === value ? value : `${label} (${value})`;
  select.appendChild(item);
}

function fillSwitchers(data) {
  for (const name of ["audience", "region", "length", "language"]) {
    for (const [value, label] of data[name]) option(field(name), value, label);
  }
  for (const [value, label] of data.focus) {
    const box = document.createElement("input");
    box.type = "checkbox";
    box.name = "focus";
    box.value = value;
    const item = document.createElement("label");
    item.append(box, ` ${label}`);
    $("focus-list").appendChild(item);
  }
  for (const person of data.stakeholder) option(field("stakeholder"), person.id, person.label);
}

function setSwitchers(choice) {
  for (const name of ["audience", "region", "length", "language", "stakeholder"]) {
    const select = field(name);
    if (name === "language" && !choice.language) { select.selectedIndex = 0; continue; }
    select.value = choice[name] || "";
  }
  setFocus((choice.focus || "").split(","));
}

function focusBoxes() { return [...document.querySelectorAll('#focus-list input[name="focus"]')]; }

function setFocus(chosen) {
  for (const box of focusBoxes()) box.checked = chosen.includes(box.value);
  const count = focusBoxes().filter((b) => b.checked).length;
  $("focus").querySelector("summary").textContent = count ? `Focus: ${count} chosen` : "Focus: all";
}

function choose(event) {
  if (event && event.target.name === "focus") {  // several boxes: the choice is made when the list closes
    setFocus(focusBoxes().filter((b) => b.checked).map((b) => b.value));
    return;
  }
  const params = new URLSearchParams();
  if (event && event.target.name === "stakeholder" && event.target.value) {
    const person = menu.stakeholder.find((p) => p.id === event.target.value);
    if (person.audience) field("audience").value = person.audience;
    field("region").value = person.region;
    setFocus(person.focus);
    if (person.language) field("language").value = person.language;
  }
  params.set("audience", field("audience").value);
  params.set("focus", focusBoxes().filter((b) => b.checked).map((b) => b.value).join(","));
  for (const name of ["region", "length", "language", "stakeholder"]) params.set(name, field(name).value);
  location.search = params.toString();
}

function showTab(pane) {
  for (const tab of document.querySelectorAll(".tabs button")) {
    const on = tab.dataset.pane === pane;
    tab.setAttribute("aria-selected", String(on));
    $(`pane-${tab.dataset.pane}`).hidden = !on;
  }
  document.body.dataset.tab = pane;
}

// The brief's own links to other sites open in a new tab (the frame may only show this server).
function outward(frame) {
  try {
    for (const link of frame.contentDocument.querySelectorAll('a[href^="http:"], a[href^="https:"]')) {
      link.target = "_blank";
      link.rel = "noopener noreferrer";
    }
  } catch (e) { /* not loaded */ }
}

function reload(name, generation) {
  const frame = $(frames[name]);
  const url = `/${name}?v=${generation}`;
  if (name === "brief.html") {
    let x = 0, y = 0;
    try { x = frame.contentWindow.scrollX; y = frame.contentWindow.scrollY; } catch (e) { /* first load */ }
    frame.addEventListener("load", () => {
      try { frame.contentWindow.scrollTo(x, y); } catch (e) { /* nothing to keep */ }
      outward(frame);
      document.body.dataset.htmlLoaded = String(generation);
    }, { once: true });
  }
  frame.src = url;
  frame.dataset.generation = String(generation);
  shown[name] = generation;
}

function status(snapshot) {
  const parts = [];
  for (const [name, label] of Object.entries(labels)) {
    const file = snapshot.files[name];
    const state = file.status === "ready" ? `${file.seconds.toFixed(2)} s` : file.status;
    parts.push(`${label}: ${state}`);
  }
  $("status").textContent = `generation ${snapshot.generation} · ${parts.join(" · ")}`;
}

function problems(list) {
  const box = $("problems");
  const items = $("problems-list");
  items.replaceChildren(...list.map((line) => {
    const item = document.createElement("li");
    item.textContent = line;
    return item;
  }));
  box.hidden = list.length === 0;
}

function update(snapshot) {
  document.body.dataset.generation = String(snapshot.generation);
  if (!switchersSet && menu) { setSwitchers(snapshot.choice); switchersSet = true; }
  for (const name of Object.keys(frames)) {
    const file = snapshot.files[name];
    if (file.available && file.generation !== shown[name]) reload(name, file.generation);
  }
  const pages = snapshot.files["pages.pdf"];
  const note = $("word-note");
  note.hidden = pages.available || !pages.note;
  $("frame-word").hidden = !pages.available;
  note.textContent = pages.available ? "" : `The Word brief's pages cannot be shown: ${pages.note}.`;
  problems(snapshot.problems);
  status(snapshot);
}

function connect() {
  const events = new EventSource("/events");
  events.onmessage = (message) => update(JSON.parse(message.data));
  events.onerror = () => { $("status").textContent = "disconnected: is briefgen preview still running?"; };
}

document.addEventListener("DOMContentLoaded", async () => {
  for (const tab of document.querySelectorAll(".tabs button")) {
    tab.addEventListener("click", () => showTab(tab.dataset.pane));
  }
  showTab("html");
  const answer = await fetch("/menu.json");
  menu = await answer.json();
  fillSwitchers(menu);
  $("switchers").addEventListener("change", choose);
  let focusAtOpen = "";
  $("focus").addEventListener("toggle", () => {
    const now = focusBoxes().filter((b) => b.checked).map((b) => b.value).join(",");
    if ($("focus").open) focusAtOpen = now;
    else if (now !== focusAtOpen) choose(null);
  });
  connect();
});

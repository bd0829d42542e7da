// pixelab studio: plain JavaScript, no build step, nothing fetched from the network.
// Every request carries the start token: as a header for API calls, as ?token= where the
// browser makes the request itself (images, the event stream).
"use strict";

const TOKEN = new URLSearchParams(location.search).get("token") || "";
const $ = (sel, root = document) => root.querySelector(sel);

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "text") node.textContent = v;
    else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v);
  }
  for (const c of children) node.append(c);
  return node;
}

function withToken(url) {
  return url + (url.includes("?") ? "&" : "?") + "token=" + encodeURIComponent(TOKEN);
}

function showError(message) {
  const box = $("#error");
  box.textContent = message;
  box.hidden = !message;
}

async function api(path, options = {}) {
  const headers = { "X-Pixelab-Token": TOKEN, ...(options.headers || {}) };
  let body = options.body;
  if (body && !(body instanceof FormData)) {
    headers["Content-Type"] = "application/json";
    body = JSON.stringify(body);
  }
  const response = await fetch(path, { ...options, headers, body });
  const data = await response.json().catch(() => ({}));
  if (!response.ok) {
    const message = (data.error || response.statusText) + (data.hint ? ` (${data.hint})` : "");
    showError(message);
    throw new Error(message);
  }
  showError("");
  return data;
}

const enc = encodeURIComponent;

// An event handler whose failure is already on the page (api() showed it): nothing more to do.
function handler(fn) {
  return (...args) => Promise.resolve(fn(...args)).catch((err) => console.debug(err));
}

// ---- screens -----------------------------------------------------------------------------

function show(screen) {
  for (const tab of document.querySelectorAll(".tab")) {
    tab.classList.toggle("active", tab.dataset.screen === screen);
  }
  for (const section of document.querySelectorAll(".screen")) section.hidden = section.id !== screen;
}

for (const tab of document.querySelectorAll(".tab")) {
  tab.addEventListener("click", () => show(tab.dataset.screen));
}

// ---- gather --------------------------------------------------------------------------------

async function refresh() {
  const project = await api("/api/project");
  $("#project-name").textContent = project.name;
  $("#project-name").title = project.path;
  $("#images-path").textContent = project.images;
  renderClasses(project.classes);
  renderRuns(project.runs);
  if (project.job && !following) follow(project.job);
  return project;
}

function renderClasses(classes) {
  const box = $("#classes");
  box.replaceChildren();
  if (!classes.length) box.append(el("p", { class: "muted", text: "No classes yet: add two or more." }));
  for (const c of classes) box.append(classCard(c));
}

function classCard(c) {
  const input = el("input", { type: "file", accept: "image/*", multiple: "", class: "upload", hidden: "" });
  input.addEventListener("change", handler(() => upload(c.name, input.files)));
  const thumbs = el("div", { class: "thumbs" });
  const card = el(
    "div",
    { class: "class-card", "data-class": c.name },
    el("h3", { text: c.name }),
    el("span", { class: "count", text: `${c.count} image${c.count === 1 ? "" : "s"}` }),
    " · ",
    el("label", { class: "link" }, "add images", input),
    thumbs,
  );
  dropTarget(card, (files) => upload(c.name, files));
  handler(loadThumbs)(c.name, thumbs);
  return card;
}

async function loadThumbs(name, box) {
  const { images } = await api(`/api/classes/${enc(name)}/images`);
  for (const image of images) {
    const src = withToken(`/api/classes/${enc(name)}/images/${enc(image.name)}/thumbnail`);
    const remove = el("button", { class: "remove", title: `remove ${image.name}`, text: "×" });
    remove.addEventListener("click", handler(async () => {
      await api(`/api/classes/${enc(name)}/images/${enc(image.name)}`, { method: "DELETE" });
      await refresh();
    }));
    box.append(el("div", { class: "thumb", title: image.name }, el("img", { src, alt: image.name }), remove));
  }
}

function dropTarget(node, onFiles) {
  node.addEventListener("dragover", (e) => { e.preventDefault(); node.classList.add("dragover"); });
  node.addEventListener("dragleave", () => node.classList.remove("dragover"));
  node.addEventListener("drop", (e) => {
    e.preventDefault();
    node.classList.remove("dragover");
    if (e.dataTransfer && e.dataTransfer.files.length) handler(onFiles)(e.dataTransfer.files);
  });
}

async function upload(name, files) {
  if (!files || !files.length) return;
  const form = new FormData();
  for (const f of files) form.append("files", f, f.name);
  await api(`/api/classes/${enc(name)}/images`, { method: "POST", body: form });
  await refresh();
}

$("#class-form").addEventListener("submit", (e) => {
  e.preventDefault();
  handler(async () => {
    const input = $("#new-class");
    await api("/api/classes", { method: "POST", body: { name: input.value } });
    input.value = "";
    await refresh();
  })();
});

// ---- train ---------------------------------------------------------------------------------

let following = null;

$("#mode").addEventListener("change", () => {
  const method = $("#mode").value;
  $("#epochs-label").hidden = method === "probe";
  $("#size").value = method === "cnn" ? "64" : "224";  // a CNN from scratch learns small images
});

$("#train-button").addEventListener("click", handler(async () => {
  const method = $("#mode").value;
  const options = method === "cnn" ? { kind: "cnn" } : { kind: "transfer", mode: method };
  options.size = Number($("#size").value);
  if (method !== "probe") options.epochs = Number($("#epochs").value);
  const job = await api("/api/jobs", { method: "POST", body: options });
  follow(job);
}));

$("#cancel-button").addEventListener("click", handler(async () => {
  if (following) await api(`/api/jobs/${following}/cancel`, { method: "POST" });
}));

function follow(job) {
  following = job.id;
  $("#job").hidden = false;
  $("#train-button").disabled = true;
  $("#cancel-button").hidden = false;
  $("#result").replaceChildren();
  showJob(job);
  const events = new EventSource(withToken(`/api/jobs/${job.id}/events`));
  events.addEventListener("progress", (e) => showJob(JSON.parse(e.data)));
  events.addEventListener("end", (e) => {
    events.close();
    following = null;
    const state = JSON.parse(e.data);
    showJob(state);
    $("#train-button").disabled = false;
    $("#cancel-button").hidden = true;
    if (state.status === "done" && state.result) showResult(state.result);
    handler(refresh)();
  });
  events.onerror = () => { if (events.readyState === EventSource.CLOSED) following = null; };
}

function showJob(job) {
  const bar = $("#progress");
  bar.max = job.total || 1;
  bar.value = job.total ? job.done : 0;
  const where = job.status === "running" ? `${job.task} ${job.total ? `${job.done}/${job.total}` : ""}` : job.status;
  $("#status").textContent = `${job.run}: ${where}${job.message ? " — " + job.message : ""}`;
  $("#status").dataset.status = job.status;
}

function pct(x) { return x == null ? "–" : `${(100 * x).toFixed(1)} %`; }

function showResult(run) {
  const box = $("#result");
  box.replaceChildren(
    el("p", {}, "Accuracy on held-out images: ", el("span", { class: "accuracy", id: "accuracy", text: pct(run.accuracy) }),
      el("span", { class: "muted", text: `  (${run.n_train} training, ${run.n_test} test images; run ${run.name})` })),
  );
  if (run.per_class) {
    const rows = Object.entries(run.per_class).map(([name, s]) =>
      el("tr", {}, el("td", { text: name }), el("td", { text: pct(s.precision) }), el("td", { text: pct(s.recall) }), el("td", { text: String(s.support) })));
    box.append(el("h3", { text: "Per class" }),
      el("table", { id: "per-class" }, el("thead", {}, el("tr", {}, ...["class", "precision", "recall", "test images"].map((t) => el("th", { text: t })))), el("tbody", {}, ...rows)));
  }
  if (run.confusion && run.classes) {
    const head = el("tr", {}, el("th", { text: "true \\ predicted" }), ...run.classes.map((c) => el("th", { text: c })));
    const rows = run.confusion.map((row, i) => el("tr", {}, el("th", { text: run.classes[i] }), ...row.map((n) => el("td", { text: String(n) }))));
    box.append(el("h3", { text: "Confusion matrix" }), el("table", { id: "confusion" }, el("thead", {}, head), el("tbody", {}, ...rows)));
  }
  for (const w of run.warnings || []) box.append(el("p", { class: "muted", text: "note: " + w }));
}

function renderRuns(runs) {
  const body = $("#runs tbody");
  body.replaceChildren(...runs.map((r) => el("tr", {}, el("td", { text: r.name }), el("td", { text: r.state }),
    el("td", { text: pct(r.accuracy) }), el("td", { text: r.n_train == null ? "" : `${r.n_train}/${r.n_test}` }))));
  const select = $("#run-select");
  const chosen = select.value;
  const usable = runs.filter((r) => r.predictable);
  select.replaceChildren(...usable.map((r) => el("option", { value: r.name, text: `${r.name} (${pct(r.accuracy)})` })));
  if (usable.some((r) => r.name === chosen)) select.value = chosen;
}

// ---- try -----------------------------------------------------------------------------------

async function tryImage(files) {
  const file = files && files[0];
  const run = $("#run-select").value;
  if (!file) return;
  if (!run) { showError("no trained model yet: train one first"); return; }
  $("#preview").src = URL.createObjectURL(file);
  $("#preview").hidden = false;
  const form = new FormData();
  form.append("file", file, file.name || "image.png");
  const result = await api(`/api/runs/${enc(run)}/predict`, { method: "POST", body: form });
  const box = $("#predictions");
  box.replaceChildren(...result.predictions.map((p, i) =>
    el("div", { class: "pred" + (i === 0 ? " top" : ""), "data-class": p.class },
      el("span", { class: "label", text: p.class }),
      el("div", { class: "bar" }, el("span", { style: `width: ${(100 * p.probability).toFixed(1)}%` })),
      el("span", { class: "pct", text: pct(p.probability) }))));
}

$("#try-file").addEventListener("change", handler((e) => tryImage(e.target.files)));
dropTarget($("#try-drop"), tryImage);

handler(refresh)();

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

// A JSON API call; its error is shown on the page unless `quiet` (a look-up whose 404 is news,
// not a fault: "no challenge results yet"), and thrown with the status as `err.status`.
async function api(path, options = {}) {
  const { quiet, ...rest } = options;
  const headers = { "X-Pixelab-Token": TOKEN, ...(rest.headers || {}) };
  let body = rest.body;
  if (body && !(body instanceof FormData)) {
    headers["Content-Type"] = "application/json";
    body = JSON.stringify(body);
  }
  const response = await fetch(path, { ...rest, headers, body });
  const data = await response.json().catch(() => ({}));
  if (!response.ok) {
    const message = (data.error || response.statusText) + (data.hint ? ` (${data.hint})` : "");
    if (!quiet) showError(message);
    throw Object.assign(new Error(message), { status: response.status });
  }
  if (!quiet) showError("");
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
  if (screen === "probe") handler(loadProbe)();
  if (screen !== "try") stopLive();
  if (screen !== "gather") closeCapture();
}

// A hidden page (another browser tab, a minimised window) lets go of the webcam.
document.addEventListener("visibilitychange", () => {
  if (document.hidden) { stopLive(); closeCapture(); }
});

// ---- the webcam: Gather's bursts and Try's live view share one stream ----------------------

let camera = null;  // a Promise of the MediaStream while the webcam is open

function openCamera() {
  if (!camera) {
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
      return Promise.reject(new Error("this browser gives the page no webcam (open the URL on 127.0.0.1 that 'pixelab studio' printed)"));
    }
    camera = navigator.mediaDevices
      .getUserMedia({ video: { width: { ideal: 640 }, height: { ideal: 480 } }, audio: false })
      .catch((err) => {
        camera = null;
        throw new Error(`the webcam is not available: ${err.message || err.name}`);
      });
  }
  return camera;
}

function closeCamera() {
  if (!camera) return;
  const opened = camera;
  camera = null;
  opened.then((stream) => { for (const track of stream.getTracks()) track.stop(); }, () => {});
}

async function attachCamera(video) {
  video.muted = true;
  video.srcObject = await openCamera();
  await video.play();
  if (!video.videoWidth) await new Promise((resolve) => video.addEventListener("loadeddata", resolve, { once: true }));
}

// One frame of a playing <video> as a JPEG, its short side at most `shortSide` pixels.
function grabFrame(video, shortSide, quality) {
  const w = video.videoWidth, h = video.videoHeight;
  if (!w || !h) return Promise.reject(new Error("the webcam has not given a frame yet"));
  const scale = Math.min(1, shortSide / Math.min(w, h));
  const canvas = el("canvas", { width: Math.round(w * scale), height: Math.round(h * scale) });
  canvas.getContext("2d").drawImage(video, 0, 0, canvas.width, canvas.height);
  return new Promise((resolve, reject) => canvas.toBlob(
    (blob) => (blob ? resolve(blob) : reject(new Error("the webcam frame could not be encoded"))),
    "image/jpeg", quality));
}

for (const tab of document.querySelectorAll(".tab")) {
  tab.addEventListener("click", () => show(tab.dataset.screen));
}

// ---- gather --------------------------------------------------------------------------------

// What a dropped folder's files may end in (the server's list, from /api/project).
let imageEndings = [".jpg", ".jpeg", ".png"];

async function refresh() {
  const project = await api("/api/project");
  $("#project-name").textContent = project.name;
  $("#project-name").title = project.path;
  $("#images-path").textContent = project.images;
  $("#runs-path").textContent = `${project.path}/runs`;
  imageEndings = project.image_extensions || imageEndings;
  renderClasses(project.classes);
  renderRuns(project.runs);
  const job = project.job;
  if (job && job.id !== following && job.id !== suite.following) {
    (job.kind === "challenges" ? followSuite : follow)(job);
  }
  return project;
}

function renderClasses(classes) {
  const box = $("#classes");
  box.replaceChildren();
  if (!classes.length) box.append(el("p", { class: "muted", text: "No classes yet: add two or more." }));
  for (const c of classes) box.append(classCard(c));
}

function countText(n) { return `${n} image${n === 1 ? "" : "s"}`; }

function classCard(c) {
  const input = el("input", { type: "file", accept: "image/*", multiple: "", class: "upload", hidden: "" });
  input.addEventListener("change", handler(() => addToClass(c.name, [...input.files].map((file) => ({ file, path: file.name })))));
  const thumbs = el("div", { class: "thumbs" });
  const count = el("span", { class: "count", text: countText(c.count) });
  const webcam = el("button", { class: "webcam link-button", type: "button", text: "webcam" });
  const card = el(
    "div",
    { class: "class-card", "data-class": c.name },
    el("h3", { text: c.name }),
    count,
    " · ",
    el("label", { class: "link" }, "add images", input),
    " · ",
    webcam,
    thumbs,
  );
  const reloadThumbs = () => { thumbs.replaceChildren(); return loadThumbs(c.name, thumbs); };
  webcam.addEventListener("click", () => {
    const open = capture && capture.name === c.name;
    closeCapture();
    if (!open) openCapture(card, c.name, count, reloadThumbs);
  });
  if (capture && capture.name === c.name) {  // the cards were drawn again: so is the webcam
    setTimeout(() => {
      if (capture && capture.name === c.name && card.isConnected) openCapture(card, c.name, count, reloadThumbs);
    });
  }
  dropTarget(card, (items) => addToClass(c.name, items));
  handler(loadThumbs)(c.name, thumbs);
  return card;
}

// ---- gather: webcam bursts -------------------------------------------------------------------

// Frames a second while the record button is held.
const BURST_FPS = 5;
// The short side of a captured frame (the webcam's own 480 lines: nothing is upscaled).
const CAPTURE_SIDE = 480;
let capture = null;  // the class whose card shows the webcam: {name, panel, stop, note}

function openCapture(card, name, count, reloadThumbs) {
  const note = capture && capture.name === name ? capture.note : "";
  if (capture) capture.stop();
  const video = el("video", { playsinline: "" });
  const record = el("button", { class: "record", type: "button", text: "Hold to record" });
  const status = el("span", { class: "captured muted", text: note });
  const close = el("button", { class: "webcam-close", type: "button", text: "Close webcam" });
  const panel = el("div", { class: "capture" }, video,
    el("div", { class: "capture-controls" }, record, status, close));
  capture = { name, panel, stop: () => {}, note };
  const mine = capture;
  close.addEventListener("click", closeCapture);
  card.querySelector(".thumbs").before(panel);
  attachCamera(video).catch((err) => { if (capture === mine) { closeCapture(); showError(err.message); } });
  mine.stop = holdToRecord(record, video, name, (text) => { status.textContent = text; mine.note = text; },
    count, reloadThumbs);
}

function closeCapture() {
  if (!capture) return;
  capture.stop();
  capture.panel.remove();
  capture = null;
  if (!live.on) closeCamera();
}

// While `button` is held (mouse, touch or the space bar), BURST_FPS frames a second go one by
// one through the ordinary upload, checked like any file; returns a function that stops.
function holdToRecord(button, video, name, say, count, reloadThumbs) {
  let timer = null, captured = 0, saved = 0, failed = false, stamp = "", queue = Promise.resolve();
  const shoot = () => {
    if (failed || !video.videoWidth) return;
    const i = captured++;
    say(`recording: ${captured} frame${captured === 1 ? "" : "s"}`);
    const frame = grabFrame(video, CAPTURE_SIDE, 0.92);
    frame.catch(() => {});  // its failure is reported below, in turn
    queue = queue.then(async () => {
      if (failed) return;
      try {
        const form = new FormData();
        form.append("files", await frame, `webcam-${stamp}-${String(i).padStart(3, "0")}.jpg`);
        const result = await api(`/api/classes/${enc(name)}/images`, { method: "POST", body: form });
        saved += 1;
        count.textContent = countText(result.count);
      } catch (err) {  // the first refusal ends the burst, with its message on the page
        failed = true;
        showError(err.message);
        stop();
      }
    });
  };
  const start = (e) => {
    if (timer || (e.type === "keydown" && (e.repeat || (e.key !== " " && e.key !== "Enter")))) return;
    e.preventDefault();
    if (e.pointerId !== undefined) button.setPointerCapture(e.pointerId);
    stamp = Date.now().toString(36);
    captured = saved = 0;
    failed = false;
    button.classList.add("recording");
    shoot();
    timer = setInterval(shoot, 1000 / BURST_FPS);
  };
  const stop = () => {
    if (!timer) return;
    clearInterval(timer);
    timer = null;
    button.classList.remove("recording");
    queue.then(() => {
      say(`${saved} frame${saved === 1 ? "" : "s"} added`);
      button.dataset.saved = String(saved);
      return reloadThumbs();
    }).catch((err) => console.debug(err));
  };
  button.addEventListener("pointerdown", start);
  button.addEventListener("keydown", start);
  for (const type of ["pointerup", "pointercancel", "lostpointercapture", "keyup", "blur"]) {
    button.addEventListener(type, stop);
  }
  return stop;
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

// A drop target: onDrop(items) with what was dropped, folders opened: [{file, path}], the path
// as it was inside the drop ("cats/001.jpg" for a file of a dropped folder "cats").
function dropTarget(node, onDrop) {
  node.addEventListener("dragover", (e) => { e.preventDefault(); node.classList.add("dragover"); });
  node.addEventListener("dragleave", () => node.classList.remove("dragover"));
  node.addEventListener("drop", (e) => {
    e.preventDefault();
    node.classList.remove("dragover");
    if (!e.dataTransfer) return;
    const dropped = droppedItems(e.dataTransfer);  // read now: the drop's data lasts one event
    handler(async () => {
      const items = await dropped;
      if (items.length) await onDrop(items);
    })();
  });
}

// The files of a drop, the insides of dropped folders included, through the browser's entries
// (webkitGetAsEntry). The entries are taken before the first await, while the drop lasts.
async function droppedItems(transfer) {
  const entries = [...(transfer.items || [])].map((item) => item.webkitGetAsEntry && item.webkitGetAsEntry()).filter(Boolean);
  const files = [...(transfer.files || [])];
  if (!entries.length) return files.map((file) => ({ file, path: file.name }));
  const items = [];
  for (const entry of entries) await readEntry(entry, "", items);
  return items;
}

async function readEntry(entry, prefix, items) {
  const path = prefix + entry.name;
  if (entry.isFile) {
    items.push({ file: await new Promise((resolve, reject) => entry.file(resolve, reject)), path });
  } else if (entry.isDirectory) {
    const reader = entry.createReader();
    for (;;) {  // a folder's entries come in batches until an empty one
      const batch = await new Promise((resolve, reject) => reader.readEntries(resolve, reject));
      if (!batch.length) break;
      for (const child of batch) await readEntry(child, path + "/", items);
    }
  }
}

// A file found inside a dropped folder that may be uploaded: an image ending, nothing hidden.
function isImagePath(path) {
  const lower = path.toLowerCase();
  return !path.split("/").some((part) => part.startsWith(".")) && imageEndings.some((end) => lower.endsWith(end));
}

// Files per request: each request is checked whole by the server (one bad file keeps none of it).
const UPLOAD_CHUNK = 100;

// Uploads `files` into class `name`, UPLOAD_CHUNK at a time; how many were stored.
async function uploadFiles(name, files) {
  let stored = 0;
  for (let i = 0; i < files.length; i += UPLOAD_CHUNK) {
    const form = new FormData();
    for (const f of files.slice(i, i + UPLOAD_CHUNK)) form.append("files", f, f.name);
    stored += (await api(`/api/classes/${enc(name)}/images`, { method: "POST", body: form })).stored.length;
  }
  return stored;
}

// Files dropped or chosen for one class: loose files go as they are (the server says what is
// wrong with one), files found inside a dropped folder only where they look like images.
async function addToClass(name, items) {
  const files = items.filter((i) => !i.path.includes("/") || isImagePath(i.path)).map((i) => i.file);
  if (!files.length) { showError("no images in what was dropped"); return; }
  try {
    await uploadFiles(name, files);
  } finally {
    await refresh();
  }
}

// Folders dropped on Gather (or chosen): each image goes into the class named after the folder
// it lies in, made when missing, so a folder of class folders makes those classes.
async function addFolders(items) {
  const groups = new Map();
  const left = [];
  for (const item of items) {
    const parts = item.path.split("/");
    if (parts.length < 2 || !isImagePath(item.path)) { left.push(item.path); continue; }
    const name = parts[parts.length - 2];
    if (!groups.has(name)) groups.set(name, []);
    groups.get(name).push(item.file);
  }
  const status = $("#folder-status");
  if (!groups.size) {
    showError("no images inside folders in what was dropped (drop loose images on a class)");
    return;
  }
  const known = new Set((await api("/api/classes")).map((c) => c.name));
  const added = [];
  try {
    for (const [name, files] of groups) {
      status.textContent = `adding ${countText(files.length)} to ${name}…`;
      if (!known.has(name)) await api("/api/classes", { method: "POST", body: { name } });
      added.push(`${countText(await uploadFiles(name, files))} to ${name}`);
    }
  } finally {
    const skipped = left.length ? `; left out ${left.length} file${left.length === 1 ? "" : "s"} that ${left.length === 1 ? "is" : "are"} not an image inside a folder (${left.slice(0, 3).join(", ")}${left.length > 3 ? ", …" : ""})` : "";
    status.textContent = (added.length ? `added ${added.join(", ")}` : "nothing added") + skipped;
    status.dataset.added = String(added.length);
    await refresh();
  }
}

dropTarget($("#folder-drop"), addFolders);
$("#folder-input").addEventListener("change", handler(async (e) => {
  const items = [...e.target.files].map((file) => ({ file, path: file.webkitRelativePath || file.name }));
  e.target.value = "";
  await addFolders(items);
}));

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

// The settings a method has (data-methods="finetune cnn"); the others are hidden and not sent.
function showSettings() {
  const method = $("#mode").value;
  for (const label of document.querySelectorAll("[data-methods]")) {
    label.hidden = !label.dataset.methods.split(" ").includes(method);
  }
}

$("#mode").addEventListener("change", () => {
  showSettings();
  // a CNN from scratch and the classic pipeline learn small images
  $("#size").value = ["cnn", "classic"].includes($("#mode").value) ? "64" : "224";
});
showSettings();

// The advanced settings: input, API option, the name messages use.
const SETTINGS = [["#epochs", "epochs", "epochs"], ["#lr", "lr", "learning rate"],
  ["#batch-size", "batch_size", "batch size"], ["#test-size", "test_size", "test share"],
  ["#val-fraction", "val_fraction", "validation share"]];

// The options of the Train button; an impossible value is an Error naming the setting.
function trainOptions() {
  const method = $("#mode").value;
  const options = ["cnn", "classic"].includes(method) ? { kind: method } : { kind: "transfer", mode: method };
  options.size = Number($("#size").value);
  for (const [selector, key, name] of SETTINGS) {
    const input = $(selector);
    if (input.closest("label").hidden) continue;
    if (input.validity.badInput) throw new Error(`${name}: not a number`);
    if (input.value === "") continue;  // the default
    if (!input.checkValidity()) throw new Error(`${name}: ${input.validationMessage}`);
    options[key] = Number(input.value);
  }
  if (method === "cnn" && $("#augment").value) options.augment = $("#augment").value;
  return options;
}

$("#train-button").addEventListener("click", handler(async () => {
  let options;
  try {
    options = trainOptions();
  } catch (err) {
    showError(err.message);
    return;
  }
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
  $("#compare").replaceChildren();
  const progress = (state) => { showJob(state); showCurves(state.history, epochsOf(state)); };
  progress(job);
  for (const button of document.querySelectorAll("#runs .resume")) button.disabled = true;
  watchJob(job, progress, (state) => {
    following = null;
    progress(state);
    $("#train-button").disabled = false;
    $("#cancel-button").hidden = true;
    if (state.status === "done" && state.result) showResult(state.result);
    handler(refresh)();
  }, () => { following = null; });
}

// Follows a job's Server-Sent Events: onProgress(state) whenever it moves, onEnd(state) once
// at the end, onLost() if the stream closes for good before that.
function watchJob(job, onProgress, onEnd, onLost) {
  const events = new EventSource(withToken(`/api/jobs/${job.id}/events`));
  events.addEventListener("progress", (e) => onProgress(JSON.parse(e.data)));
  events.addEventListener("end", (e) => { events.close(); onEnd(JSON.parse(e.data)); });
  events.onerror = () => { if (events.readyState === EventSource.CLOSED) onLost(); };
}

// A job's progress bar and status line (Train's, or the challenge suite's on Probe).
function showJob(job, bar = $("#progress"), status = $("#status")) {
  bar.max = job.total || 1;
  bar.value = job.total ? job.done : 0;
  const where = job.status === "running" ? `${job.task} ${job.total ? `${job.done}/${job.total}` : ""}` : job.status;
  status.textContent = `${job.run}: ${where}${job.message ? " — " + job.message : ""}`;
  status.dataset.status = job.status;
}

function pct(x) { return x == null ? "–" : `${(100 * x).toFixed(1)} %`; }

// ---- train: the curves of the epochs, drawn as they arrive (inline SVG, no library) ----------

const SVG_NS = "http://www.w3.org/2000/svg";

function svg(tag, attrs = {}, ...children) {
  const node = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  for (const c of children) node.append(c);
  return node;
}

// The epochs a training job was asked for: from its task ("epoch 3/10"), else its options.
function epochsOf(job) {
  const m = /^epoch \d+\/(\d+)/.exec(job.task || "");
  return m ? Number(m[1]) : (job.options && job.options.epochs) || 0;
}

// One chart: a line per [label, key, colour] of `series` over epochs 1..epochs, y from 0 to
// `top` (1 for accuracy; else the largest value).
function chart(title, history, series, epochs, top) {
  const W = 330, H = 180, L = 42, R = 12, T = 24, B = 30;
  const values = history.flatMap((h) => series.map(([, key]) => h[key]).filter((v) => v != null));
  const ymax = top || Math.max(1e-6, ...values);
  const x = (e) => L + (epochs > 1 ? (e - 1) / (epochs - 1) : 0.5) * (W - L - R);
  const y = (v) => T + (1 - v / ymax) * (H - T - B);
  const text = (attrs, words) => svg("text", attrs, words);
  const root = svg("svg", { viewBox: `0 0 ${W} ${H}`, width: W, height: H, class: "chart", "data-chart": title, role: "img", "aria-label": `${title} per epoch` });
  root.append(text({ x: L, y: 15, class: "chart-title" }, title),
    svg("line", { x1: L, y1: T, x2: L, y2: H - B, class: "axis" }),
    svg("line", { x1: L, y1: H - B, x2: W - R, y2: H - B, class: "axis" }),
    text({ x: (L + W - R) / 2, y: H - 3, class: "tick", "text-anchor": "middle" }, "epoch"));
  for (const v of [0, ymax / 2, ymax]) {
    root.append(text({ x: L - 5, y: y(v) + 4, class: "tick", "text-anchor": "end" }, top === 1 ? `${Math.round(100 * v)}%` : v.toPrecision(2)));
  }
  for (const e of new Set([1, epochs])) root.append(text({ x: x(e), y: H - B + 14, class: "tick", "text-anchor": "middle" }, String(e)));
  series.forEach(([label, key, colour], i) => {
    const points = history.filter((h) => h[key] != null).map((h) => [x(h.epoch), y(h[key])]);
    if (!points.length) return;
    root.append(svg("polyline", { points: points.map((p) => p.map((v) => v.toFixed(1)).join(",")).join(" "), stroke: colour, class: "line", "data-series": key }));
    for (const [cx, cy] of points) root.append(svg("circle", { cx: cx.toFixed(1), cy: cy.toFixed(1), r: 2.5, fill: colour }));
    root.append(text({ x: W - R, y: T + 10 + 13 * i, fill: colour, class: "legend", "text-anchor": "end" }, label));
  });
  return root;
}

// The loss and accuracy of every epoch so far (a training's, or a finished run's); hidden for
// trainings without epochs (a linear probe, the classic pipeline).
function showCurves(history, epochs) {
  const box = $("#curves");
  if (!history || !history.length) { box.hidden = true; box.replaceChildren(); delete box.dataset.epochs; return; }
  const last = history[history.length - 1].epoch;
  box.hidden = false;
  box.dataset.epochs = String(history.length);
  box.replaceChildren(
    chart("loss", history, [["train", "train_loss", "#2f6fde"], ["validation", "val_loss", "#c0392b"]], Math.max(epochs || 0, last)),
    chart("accuracy", history, [["train", "train_accuracy", "#2f6fde"], ["validation", "val_accuracy", "#c0392b"]], Math.max(epochs || 0, last), 1));
}

// A confusion matrix as a table; `open(i, j)` (if given) makes its non-zero numbers buttons.
function confusionTable(classes, matrix, open, id) {
  const head = el("tr", {}, el("th", { text: "true \\ predicted" }), ...classes.map((c) => el("th", { text: c })));
  const cell = (n, i, j) => {
    const kind = i === j ? "right" : n ? "wrong" : "";
    if (!open || !n) return el("td", { class: kind, text: String(n) });
    const button = el("button", { class: "cell", type: "button", "data-true": classes[i], "data-predicted": classes[j],
      title: `show the ${n} test image${n === 1 ? "" : "s"} of ${classes[i]} predicted as ${classes[j]}`, text: String(n) });
    button.addEventListener("click", handler(() => open(i, j)));
    return el("td", { class: kind }, button);
  };
  const rows = matrix.map((row, i) => el("tr", {}, el("th", { text: classes[i] }), ...row.map((n, j) => cell(n, i, j))));
  return el("table", id ? { id, class: "confusion" } : { class: "confusion" }, el("thead", {}, head), el("tbody", {}, ...rows));
}

function showResult(run) {
  const box = $("#result");
  box.replaceChildren(
    el("p", {}, "Accuracy on held-out images: ", el("span", { class: "accuracy", id: "accuracy", text: pct(run.accuracy) }),
      el("span", { class: "muted", text: `  (${run.method ? run.method + "; " : ""}${run.n_train} training, ${run.n_test} test images; run ${run.name})` })),
  );
  showCurves(run.history);
  if (run.per_class) {
    const rows = Object.entries(run.per_class).map(([name, s]) =>
      el("tr", {}, el("td", { text: name }), el("td", { text: pct(s.precision) }), el("td", { text: pct(s.recall) }), el("td", { text: String(s.support) })));
    box.append(el("h3", { text: "Per class" }),
      el("table", { id: "per-class" }, el("thead", {}, el("tr", {}, ...["class", "precision", "recall", "test images"].map((t) => el("th", { text: t })))), el("tbody", {}, ...rows)));
  }
  $("#cell").hidden = true;
  if (run.confusion && run.classes) {
    const open = run.has_predictions ? (i, j) => openCell(run.name, run.classes[i], run.classes[j]) : null;
    box.append(el("h3", { text: "Confusion matrix" }), confusionTable(run.classes, run.confusion, open, "confusion"));
    box.append(el("p", { class: "muted", text: run.has_predictions
      ? "Click a number to see those test images; the cells off the diagonal are the mistakes."
      : "This run did not record its test images one by one (trained before pixelab did): train again to open the cells." }));
  }
  for (const w of run.warnings || []) box.append(el("p", { class: "muted", text: "note: " + w }));
  if (run.predictable) box.append(useElsewhere(run));
}

// How to use a run outside the studio: its command line and, for a network, the ONNX export.
function useElsewhere(run) {
  const box = el("div", { id: "use" }, el("h3", { text: "Use it elsewhere" }),
    el("p", {}, "From the command line (the project is a plain folder): ", el("code", { class: "command", id: "predict-command", text: run.commands.predict })));
  if (!run.network) {
    box.append(el("p", { class: "muted", id: "classic-note", text: "A classic pipeline is no network: it has no ONNX export, saliency, feature maps or challenge suite. Try, the sliders and pixelab predict use it as it is." }));
    return box;
  }
  const button = el("button", { id: "export-button", type: "button", text: "Export to ONNX" });
  const said = el("span", { id: "export-status", class: "muted" });
  const link = (bytes, diff) => {
    const a = el("a", { id: "onnx-link", href: withToken(`/api/runs/${enc(run.name)}/model.onnx`), download: `${run.name}.onnx`, text: "download model.onnx" });
    said.replaceChildren(a, bytes ? ` (${(bytes / 1e6).toFixed(2)} MB${diff == null ? "" : `; within ${diff.toExponential(1)} of PyTorch`})` : " (exported before)");
  };
  if (run.onnx) link();
  button.addEventListener("click", handler(async () => {
    button.disabled = true;
    said.textContent = "exporting…";
    try {
      const r = await api(`/api/runs/${enc(run.name)}/export`, { method: "POST" });
      link(r.bytes, r.max_abs_difference);
    } catch (err) {
      said.textContent = "";
      throw err;
    } finally {
      button.disabled = false;
    }
  }));
  box.append(el("div", { class: "row" }, button, said),
    el("p", { class: "muted" }, "The same from the command line: ", el("code", { class: "command", text: run.commands.export }),
      ". model.onnx carries the class names and the preprocessing in its metadata, so it works without pixelab."));
  return box;
}

// The runs of the last refresh, by name (what each can do: predictable, network, resumable).
let runsByName = {};
// The runs ticked for comparing, in the order they were ticked (two at most).
let ticked = [];

function renderRuns(runs) {
  runsByName = Object.fromEntries(runs.map((r) => [r.name, r]));
  ticked = ticked.filter((name) => runsByName[name] && runsByName[name].state === "finished");
  const body = $("#runs tbody");
  const name = (r) => {
    if (r.state !== "finished") return el("td", { text: r.name });
    const open = el("button", { class: "link-button", type: "button", text: r.name });
    open.addEventListener("click", handler(async () => showResult(await api(`/api/runs/${enc(r.name)}`))));
    return el("td", {}, open);
  };
  const tick = (r) => {
    if (r.state !== "finished" || !r.classes) return el("td");
    const box = el("input", { type: "checkbox", class: "tick", title: `compare ${r.name}` });
    box.checked = ticked.includes(r.name);
    box.addEventListener("change", () => {
      ticked = ticked.filter((n) => n !== r.name);
      if (box.checked) ticked.push(r.name);
      if (ticked.length > 2) ticked.shift();  // the two ticked last
      for (const other of document.querySelectorAll("#runs .tick")) other.checked = ticked.includes(other.closest("tr").dataset.run);
      $("#compare-button").disabled = ticked.length !== 2;
    });
    return el("td", {}, box);
  };
  const training = (r) => r.job && r.job.status === "running";
  const state = (r) => (r.state === "unfinished" && r.resumable && !training(r)
    ? `interrupted after ${r.epochs_done} of ${r.epochs} epochs` : training(r) ? "training" : r.state);
  const action = (r) => {
    if (!r.resumable || training(r)) return el("td");
    const resume = el("button", { class: "resume", type: "button", text: "Resume", title: `go on from epoch ${r.epochs_done + 1} of ${r.epochs}` });
    resume.disabled = Boolean(following || suite.following);
    resume.addEventListener("click", handler(async () => follow(await api(`/api/runs/${enc(r.name)}/resume`, { method: "POST" }))));
    return el("td", {}, resume);
  };
  body.replaceChildren(...runs.map((r) => el("tr", { "data-run": r.name, "data-state": r.state }, tick(r), name(r), el("td", { text: r.method || "" }),
    el("td", { class: "state", text: state(r) }), el("td", { text: pct(r.accuracy) }),
    el("td", { text: r.n_train == null ? "" : `${r.n_train}/${r.n_test}` }), action(r))));
  $("#compare-button").disabled = ticked.length !== 2;
  const usable = runs.filter((r) => r.predictable);
  for (const select of [$("#run-select"), $("#probe-run")]) {
    const chosen = select.value;
    select.replaceChildren(...usable.map((r) => el("option", { value: r.name, "data-size": r.size || 224, "data-network": String(Boolean(r.network)), text: `${r.name} (${pct(r.accuracy)})` })));
    if (usable.some((r) => r.name === chosen)) select.value = chosen;
  }
}

function isNetwork(run) { return Boolean(runsByName[run] && runsByName[run].network); }

// ---- history: two runs side by side ----------------------------------------------------------

$("#compare-button").addEventListener("click", handler(async () => {
  if (ticked.length !== 2) return;
  showCompare(await api(`/api/compare?a=${enc(ticked[0])}&b=${enc(ticked[1])}`));
}));

function showCompare(r) {
  const [a, b] = r.runs;
  const number = (v, digits = 1) => (v == null ? "–" : Number(v).toLocaleString("en", { maximumFractionDigits: digits }));
  const rows = [["method", (x) => x.method || x.what], ["accuracy", (x) => pct(x.accuracy)],
    ["parameters", (x) => number(x.num_parameters, 0)], ["training seconds", (x) => number(x.train_seconds)],
    ["test images per second", (x) => number(x.images_per_second)], ["images (train/test)", (x) => `${x.n_train}/${x.n_test}`]];
  const better = a.accuracy === b.accuracy ? null : a.accuracy > b.accuracy ? 0 : 1;
  const head = el("tr", {}, el("th"), ...r.runs.map((x) => el("th", { text: x.run })));
  const overview = el("table", { id: "compare-table" }, el("thead", {}, head), el("tbody", {}, ...rows.map(([label, f]) =>
    el("tr", {}, el("th", { text: label }), ...r.runs.map((x, i) => el("td", { class: label === "accuracy" && i === better ? "best" : "", text: f(x) }))))));
  const classHead = el("tr", {}, el("th", { text: "class" }), ...r.runs.flatMap((x) => [el("th", { text: `${x.run}: precision` }), el("th", { text: "recall" })]));
  const classRows = r.classes.map((c) => el("tr", {}, el("th", { text: c }),
    ...r.runs.flatMap((x) => [el("td", { text: pct(x.per_class[c].precision) }), el("td", { text: pct(x.per_class[c].recall) })])));
  const perClass = el("table", { id: "compare-classes" }, el("thead", {}, classHead), el("tbody", {}, ...classRows));
  const matrices = el("div", { class: "row top" }, ...r.runs.map((x) => el("figure", {}, confusionTable(r.classes, x.confusion, null),
    el("figcaption", { class: "muted", text: x.run }))));
  const names = Object.keys(r.settings);
  const shown = (v) => (v == null ? "–" : typeof v === "object" ? JSON.stringify(v) : String(v));
  const settings = names.length
    ? el("table", { id: "compare-settings" }, el("thead", {}, el("tr", {}, el("th", { text: "setting" }), el("th", { text: a.run }), el("th", { text: b.run }))),
      el("tbody", {}, ...names.map((k) => el("tr", {}, el("th", { text: k }), ...r.settings[k].map((v) => el("td", { text: shown(v) }))))))
    : el("p", { class: "muted", text: "Both were trained with the same settings." });
  $("#compare").replaceChildren(el("h3", { text: `${a.run} and ${b.run} side by side` }), overview,
    el("h3", { text: "Per class" }), perClass, el("h3", { text: "Confusion matrices" }), matrices,
    el("h3", { text: "Settings that differ" }), settings);
}

// ---- look under the hood: a confusion cell's test images, and why a prediction ----------------

function thumbURL(cls, name) {
  return withToken(`/api/classes/${enc(cls)}/images/${enc(name)}/thumbnail`);
}

async function openCell(run, truth, predicted) {
  const cell = await api(`/api/runs/${enc(run)}/predictions?true=${enc(truth)}&predicted=${enc(predicted)}`);
  $("#cell-title").textContent = `${truth} predicted as ${predicted}: ${cell.count} test image${cell.count === 1 ? "" : "s"}`
    + (truth === predicted ? "" : " (mistakes)");
  $("#cell-images").replaceChildren(...cell.images.map((im) => {
    const caption = el("span", { class: "confidence", text: pct(im.probability) });
    if (!im.in_project) return el("div", { class: "thumb missing", title: `${im.file}: no longer in the project` }, caption);
    if (!isNetwork(run)) {  // a classic pipeline has no saliency: the image, without a Why
      return el("div", { class: "thumb", title: `${im.file} (Why? needs a network)` }, el("img", { src: thumbURL(im.class, im.name), alt: im.file }), caption);
    }
    const open = el("button", { class: "thumb", type: "button", title: `${im.file}: why ${predicted}?` },
      el("img", { src: thumbURL(im.class, im.name), alt: im.file }), caption);
    open.addEventListener("click", () => openWhy({ run, cls: im.class, name: im.name, label: im.file }));
    return open;
  }));
  $("#cell").hidden = false;
}

// The "why" view: one image (of the project, or a file dropped on Try) through a run's model.
let why = null;

function openWhy(source) {
  why = { ...source, token: (why ? why.token : 0) + 1 };
  $("#why-title").textContent = `Why? ${source.label || ""}`;
  $("#why-target").replaceChildren(el("option", { value: "", text: "the predicted class" }));
  for (const id of ["#why-input", "#why-overlay"]) $(id).removeAttribute("src");
  $("#why-predictions").replaceChildren();
  $("#why-layers").replaceChildren();
  const dialog = $("#why");
  if (!dialog.open) dialog.showModal();
  handler(explainNow)();
}

async function explainNow() {
  if (!why) return;
  const mine = ++why.token;
  const query = `method=${enc($("#why-method").value)}` + ($("#why-target").value ? `&target=${enc($("#why-target").value)}` : "");
  $("#why-status").textContent = "looking…";
  $("#why").dataset.state = "busy";
  let result;
  try {
    if (why.file) {
      const form = new FormData();
      form.append("file", why.file, why.file.name || "image.png");
      result = await api(`/api/runs/${enc(why.run)}/explain?${query}`, { method: "POST", body: form });
    } else {
      result = await api(`/api/runs/${enc(why.run)}/explain/${enc(why.cls)}/${enc(why.name)}?${query}`);
    }
  } catch (err) {
    if (why && mine === why.token) { $("#why-status").textContent = err.message; $("#why").dataset.state = "failed"; }
    throw err;
  }
  if (!why || mine !== why.token) return;  // a newer request was made meanwhile
  showWhy(result);
}

function showWhy(r) {
  const target = $("#why-target");
  if (target.options.length === 1) {
    for (const p of [...r.predictions].sort((a, b) => a.class.localeCompare(b.class))) {
      target.append(el("option", { value: p.class, text: p.class }));
    }
  }
  $("#why-title").textContent = `Why ${r.predicted}? ${why.label || ""}`;
  $("#why-input").src = r.input;
  $("#why-overlay").src = r.overlay;
  const how = { gradcam: `Grad-CAM at layer ${r.layer}`, gradients: "gradients", "integrated-gradients": "integrated gradients", occlusion: "occlusion" }[r.method];
  $("#why-caption").textContent = `what ${r.target} rests on (${how}); red: most`;
  showPredictions(r.predictions, $("#why-predictions"));
  $("#why-notes").textContent = r.warnings.join(" ");
  $("#why-layers").replaceChildren(...r.layers.map((layer) => el("div", { class: "layer" },
    el("span", { class: "layer-name", text: `${layer.name} (${layer.shape.join("×")})` }),
    ...layer.maps.map((m) => el("img", { src: m.image, alt: `${layer.name} channel ${m.channel}`, title: `channel ${m.channel}` })))));
  $("#why-status").textContent = `${r.seconds.toFixed(2)} s`;
  $("#why").dataset.state = "done";
  $("#why").dataset.target = r.target;
}

$("#why-method").addEventListener("change", handler(explainNow));
$("#why-target").addEventListener("change", handler(explainNow));
$("#why-close").addEventListener("click", () => $("#why").close());
$("#why").addEventListener("close", () => { why = null; });

// ---- try -----------------------------------------------------------------------------------

function showPredictions(predictions, box = $("#predictions")) {
  box.replaceChildren(...predictions.slice(0, 5).map((p, i) =>
    el("div", { class: "pred" + (i === 0 ? " top" : ""), "data-class": p.class },
      el("span", { class: "label", text: p.class }),
      el("div", { class: "bar" }, el("span", { style: `width: ${(100 * p.probability).toFixed(1)}%` })),
      el("span", { class: "pct", text: pct(p.probability) }))));
}

async function tryImage(files) {
  const file = files && files[0];
  const run = $("#run-select").value;
  if (!file) return;
  if (!run) { showError("no trained model yet: train one first"); return; }
  stopLive();
  $("#preview").src = URL.createObjectURL(file);
  $("#preview").hidden = false;
  const form = new FormData();
  form.append("file", file, file.name || "image.png");
  const result = await api(`/api/runs/${enc(run)}/predict`, { method: "POST", body: form });
  showPredictions(result.predictions);
  const button = $("#try-why");
  button.hidden = !isNetwork(run);  // a classic pipeline has no saliency or feature maps
  button.onclick = () => openWhy({ run, file, label: file.name || "" });
}

$("#try-file").addEventListener("change", handler((e) => tryImage(e.target.files)));
dropTarget($("#try-drop"), (items) => tryImage(items.map((i) => i.file)));

// ---- try: live webcam ------------------------------------------------------------------------

// The live view: one frame in flight at a time (the next is taken when the answer is shown,
// so a slow model lowers the rate instead of piling requests up). For the browser test and
// benchmarks/bench_studio.py (window.pixelabLive), the last 1000 frames' round trips in ms
// (frame taken -> bars drawn; `times`), the server's share of each (`server`) and when each
// was drawn (`stamps`, performance.now()).
const live = { on: false, count: 0, times: [], server: [], stamps: [], done: [], session: 0 };
window.pixelabLive = live;

async function startLive() {
  if (live.on) return;
  if (!$("#run-select").value) { showError("no trained model yet: train one first"); return; }
  const session = ++live.session;
  live.on = true;
  Object.assign(live, { count: 0, times: [], server: [], stamps: [], done: [] });
  const button = $("#live-toggle");
  button.textContent = "Live webcam: on";
  button.setAttribute("aria-pressed", "true");
  $("#live-rate").textContent = "starting the webcam…";
  const video = $("#live-video");
  try {
    await attachCamera(video);
  } catch (err) {
    if (live.session === session) { stopLive(); showError(err.message); }
    return;
  }
  if (live.session !== session || !live.on) return;
  $("#preview").hidden = true;
  $("#try-why").hidden = true;
  video.hidden = false;
  while (live.on && live.session === session) {
    const option = $("#run-select").selectedOptions[0];
    if (!option) { stopLive(); showError("no trained model yet: train one first"); return; }
    // a little more than the model's input: the server crops and resizes like in training
    const side = Math.min(480, Math.ceil(Number(option.dataset.size || 224) * 1.15));
    const t0 = performance.now();
    try {
      const form = new FormData();
      form.append("file", await grabFrame(video, side, 0.85), "frame.jpg");
      const result = await api(`/api/runs/${enc(option.value)}/predict`, { method: "POST", body: form });
      if (!live.on || live.session !== session) return;
      showPredictions(result.predictions);
      live.server.push(result.timing_ms ? result.timing_ms.total : NaN);
    } catch (err) {
      if (live.session === session) { stopLive(); showError(err.message); }
      return;
    }
    const t1 = performance.now();
    live.count += 1;
    live.times.push(t1 - t0);
    live.stamps.push(t1);
    for (const list of [live.times, live.server, live.stamps]) if (list.length > 1000) list.shift();
    live.done.push(t1);
    while (t1 - live.done[0] > 3000) live.done.shift();  // the rate over the last 3 seconds
    const rate = live.done.length > 1 ? (1000 * (live.done.length - 1)) / (t1 - live.done[0]) : 0;
    const shown = $("#live-rate");
    shown.textContent = `${rate.toFixed(1)} predictions/s · ${Math.round(t1 - t0)} ms per frame`;
    shown.dataset.rate = rate.toFixed(2);
    $("#predictions").dataset.count = String(live.count);
  }
}

function stopLive() {
  if (!live.on) return;
  live.on = false;
  live.session += 1;
  const button = $("#live-toggle");
  button.textContent = "Live webcam: off";
  button.setAttribute("aria-pressed", "false");
  const video = $("#live-video");
  video.pause();
  video.srcObject = null;
  video.hidden = true;
  if (!capture) closeCamera();
  if (!live.count) $("#live-rate").textContent = "";
}

$("#live-toggle").addEventListener("click", () => (live.on ? stopLive() : startLive()));

// ---- probe: sliders on a test image ------------------------------------------------------------

// The sliders' answers come one request at a time: a move while one is out only marks the
// latest values as wanted, sent when the answer is in (like the live webcam). For the browser
// test (window.pixelabProbe): answers drawn and requests sent.
const probe = { run: "", image: null, busy: false, again: false, timer: null, answers: 0, sent: 0 };
window.pixelabProbe = probe;
const SLIDERS = ["rotate", "shift_x", "shift_y", "scale", "brightness", "occlude", "occlude_x", "occlude_y"];

function sliderValues() {
  const values = {};
  for (const key of SLIDERS) values[key] = Number($(`#s-${key}`).value);
  return values;
}

function showSlider(input) {
  const out = input.parentElement.querySelector("output");
  out.textContent = input.value + out.dataset.unit;
}

async function loadProbe() {
  const run = $("#probe-run").value;
  if (!run) { $("#probe-hint").textContent = "No trained model yet: train one first."; return; }
  if (run === probe.run) return;
  probe.run = run;
  probe.image = null;
  const side = Number($("#probe-run").selectedOptions[0].dataset.size || 224);
  for (const key of ["shift_x", "shift_y"]) {
    const input = $(`#s-${key}`);
    input.max = String(Math.floor(side / 2));
    input.min = String(-Math.floor(side / 2));
  }
  $("#probe-images").replaceChildren();
  $("#probe-input").removeAttribute("src");
  $("#probe-predictions").replaceChildren();
  const network = isNetwork(run);
  $("#probe-why").hidden = !network;
  $("#challenge-button").disabled = !network || Boolean(suite.following);
  $("#challenge-status").textContent = network ? "" : "The challenge suite measures networks: this run is the classic HOG pipeline. Pick a transfer-learning or CNN run to run it.";
  if (network) handler(loadSuite)(run);
  else $("#challenge-result").replaceChildren();
  let listed;
  try {
    listed = await api(`/api/runs/${enc(run)}/predictions`, { quiet: true });
  } catch (err) {
    $("#probe-hint").textContent = err.status === 404 ? "This run did not record its test images (trained before pixelab did): train again to probe it." : err.message;
    return;
  }
  $("#probe-hint").textContent = "Pick one of the images this model was tested on (never trained on); ✗ marks its mistakes:";
  const images = listed.images.filter((im) => im.in_project);
  $("#probe-images").replaceChildren(...images.map((im) => {
    const wrong = im.true !== im.predicted;
    const pick = el("button", { class: "thumb" + (wrong ? " wrong" : ""), type: "button", "data-file": im.file,
      title: `${im.file}: ${im.predicted} (${pct(im.probability)})` },
      el("img", { src: thumbURL(im.class, im.name), alt: im.file }), el("span", { class: "confidence", text: wrong ? `✗ ${im.predicted}` : im.true }));
    pick.addEventListener("click", () => pickProbeImage(im, pick));
    return pick;
  }));
  if (images.length) pickProbeImage(images[0], $("#probe-images .thumb"));
}

function pickProbeImage(im, button) {
  for (const b of document.querySelectorAll("#probe-images .thumb")) b.classList.toggle("chosen", b === button);
  probe.image = im;
  probeSoon(0);
}

function probeSoon(wait = 30) {
  clearTimeout(probe.timer);
  probe.timer = setTimeout(() => handler(probeNow)(), wait);
}

async function probeNow() {
  if (!probe.image || !probe.run) return;
  if (probe.busy) { probe.again = true; return; }
  probe.busy = true;
  probe.sent += 1;
  const { run, image } = probe;
  try {
    const result = await api(`/api/runs/${enc(run)}/probe/${enc(image.class)}/${enc(image.name)}`,
      { method: "POST", body: sliderValues() });
    if (run === probe.run && image === probe.image) {
      $("#probe-input").src = result.input;
      showPredictions(result.predictions, $("#probe-predictions"));
      probe.answers += 1;
      $("#probe-predictions").dataset.count = String(probe.answers);
    }
  } finally {
    probe.busy = false;
    if (probe.again) { probe.again = false; probeSoon(0); }
  }
}

for (const key of SLIDERS) {
  const input = $(`#s-${key}`);
  showSlider(input);
  input.addEventListener("input", () => { showSlider(input); probeSoon(); });
}
$("#probe-reset").addEventListener("click", () => {
  for (const key of SLIDERS) {
    const input = $(`#s-${key}`);
    input.value = input.defaultValue;
    showSlider(input);
  }
  probeSoon(0);
});
$("#probe-why").addEventListener("click", () => {
  if (probe.image) openWhy({ run: probe.run, cls: probe.image.class, name: probe.image.name, label: probe.image.file });
});
$("#probe-run").addEventListener("change", handler(loadProbe));

// ---- probe: the challenge suite, a background job like a training --------------------------------

const suite = { following: null, run: null };

async function loadSuite(run) {
  $("#challenge-result").replaceChildren();
  try {
    showSuite(await api(`/api/runs/${enc(run)}/challenges`, { quiet: true }));
  } catch (err) {
    if (err.status !== 404) throw err;  // 404: not run yet on this model
  }
}

$("#challenge-button").addEventListener("click", handler(async () => {
  const run = $("#probe-run").value;
  if (!run) { showError("no trained model yet: train one first"); return; }
  followSuite(await api(`/api/runs/${enc(run)}/challenges`, { method: "POST", body: {} }));
}));

$("#challenge-cancel").addEventListener("click", handler(async () => {
  if (suite.following) await api(`/api/jobs/${suite.following}/cancel`, { method: "POST" });
}));

function followSuite(job) {
  suite.following = job.id;
  suite.run = job.run;
  $("#challenge-button").disabled = true;
  $("#challenge-cancel").hidden = false;
  $("#challenge-progress").hidden = false;
  const show = (state) => showJob(state, $("#challenge-progress"), $("#challenge-status"));
  show(job);
  watchJob(job, show, (state) => {
    suite.following = null;
    show(state);
    $("#challenge-button").disabled = false;
    $("#challenge-cancel").hidden = true;
    $("#challenge-progress").hidden = true;
    if (state.status === "done" && state.result && state.run === $("#probe-run").value) showSuite(state.result);
  }, () => { suite.following = null; });
}

function showSuite(r) {
  const head = el("tr", {}, el("th", { text: "challenge" }), ...r.severities.map((s) => el("th", { text: `severity ${s}` })), el("th", { text: "mean" }));
  const rows = Object.entries(r.families).map(([name, f]) => el("tr", { title: f.means },
    el("th", { text: name }), ...f.accuracy.map((a) => el("td", { text: pct(a) })), el("td", { text: pct(f.mean_accuracy) })));
  const where = r.held_out ? `its ${r.n_images} test images` : `${r.n_images} images of the project, training ones included (the run lists no test images)`;
  $("#challenge-result").replaceChildren(
    el("p", {}, `Accuracy on ${where}: `, el("strong", { text: `${pct(r.clean_accuracy)} unchanged` }), ", then each challenge at five severities:"),
    el("table", { id: "challenges" }, el("thead", {}, head), el("tbody", {}, ...rows)),
    r.figure ? el("img", { class: "figure", alt: "accuracy per challenge and severity",
      src: withToken(`/api/runs/${enc(r.run)}/challenges/figure`) + `&t=${Date.now()}` }) : "");
}

handler(refresh)();

// A latent map that keeps its digits in the browser (Streamlit Components v2, Plotly.js).
//
// The base map (one WebGL trace of every digit) is fetched once per URL and drawn once. What a
// click changes (rings, paths, placed points) arrives as small overlay traces. On a 2-D map they are
// drawn in an SVG layer of this file's own over Plotly's plot area, placed with Plotly's current axes
// and redrawn whenever they move (zoom, pan, resize); a click does not call Plotly at all. Any Plotly
// call that touches the figure (even Plotly.react with the same trace object and new layout shapes)
// redraws every WebGL point: 0.2 s for 5,000 points, seconds for 70,000 in software WebGL.
// A 3-D scene has no 2-D axes to lay an SVG over, so there the overlays are traces, applied with Plotly.react.

const plots = new WeakMap(); // parentElement -> {div, layer, baseUrl, base, trace, overlays, keys, version}
const bases = new Map(); // base URL -> Promise of {trace, layout}; a few kept for pages with several maps
const MAX_BASES = 8;
let plotlyReady = null;

function loadPlotly(url) {
  if (window.Plotly) return Promise.resolve(window.Plotly);
  if (!plotlyReady) {
    plotlyReady = new Promise((resolve, reject) => {
      const script = document.createElement("script");
      script.src = url;
      script.onload = () => resolve(window.Plotly);
      script.onerror = () => { plotlyReady = null; reject(new Error("plotly.js did not load")); };
      document.head.appendChild(script);
    });
  }
  return plotlyReady;
}

function fetchBase(url) {
  if (!bases.has(url)) {
    bases.set(url, fetch(url).then((response) => {
      if (!response.ok) throw new Error(`base map: HTTP ${response.status}`);
      return response.json();
    }));
    while (bases.size > MAX_BASES) bases.delete(bases.keys().next().value);
  }
  return bases.get(url);
}

// One level deeper than Object.assign: the per-rerun layout adds axis titles to the base's axis ranges.
function mergeLayout(base, extra) {
  const out = { ...base };
  for (const [key, value] of Object.entries(extra)) {
    const both = value && typeof value === "object" && !Array.isArray(value) && out[key] && typeof out[key] === "object";
    out[key] = both ? { ...out[key], ...value } : value;
  }
  return out;
}

const at = (value, i, fallback) => (Array.isArray(value) ? value[i] : value) ?? fallback;

const SVG = "http://www.w3.org/2000/svg";
let clipCount = 0;

function svgElement(tag, attributes) {
  const element = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value !== undefined && value !== null) element.setAttribute(name, value);
  }
  return element;
}

// A marker symbol as an SVG path around (0, 0), r pixels from the centre (SVG's y points down).
function symbolPath(symbol, r) {
  if (symbol === "x") {
    const w = r * 0.35;
    return `M${-r},${-r + w}L${-w},0L${-r},${r - w}L${-r + w},${r}L0,${w}L${r - w},${r}L${r},${r - w}L${w},0`
      + `L${r},${-r + w}L${r - w},${-r}L0,${-w}L${-r + w},${-r}Z`;
  }
  const points = [];
  for (let k = 0; k < 10; k++) { // star: five outer and five inner corners, the first straight up
    const angle = Math.PI / 2 + (k * Math.PI) / 5;
    const radius = k % 2 ? r * 0.45 : r;
    points.push(`${(radius * Math.cos(angle)).toFixed(2)},${(-radius * Math.sin(angle)).toFixed(2)}`);
  }
  return `M${points.join("L")}Z`;
}

function markerElements(trace, px, py) {
  const marker = trace.marker || {};
  const line = marker.line || {};
  const out = [];
  trace.x.forEach((x, i) => {
    const y = trace.y[i];
    if (x === null || y === null) return;
    const r = at(marker.size, i, 8) / 2;
    const symbol = at(marker.symbol, i, "circle");
    const paint = {
      fill: at(marker.color, i, "#222222"), opacity: marker.opacity ?? 1,
      stroke: at(line.color, i, "rgba(0,0,0,0)"), "stroke-width": at(line.width, i, 0),
    };
    if (symbol === "x" || symbol === "star") {
      out.push(svgElement("path", { ...paint, d: symbolPath(symbol, r), transform: `translate(${px(x)},${py(y)})` }));
    } else {
      out.push(svgElement("circle", { ...paint, cx: px(x), cy: py(y), r }));
    }
  });
  return out;
}

function lineElement(trace, px, py) {
  let path = "";
  let pen = "M";
  trace.x.forEach((x, i) => {
    const y = trace.y[i];
    if (x === null || y === null) { pen = "M"; return; }
    path += `${pen}${px(x).toFixed(2)},${py(y).toFixed(2)}`;
    pen = "L";
  });
  const line = trace.line || {};
  return svgElement("path", { d: path || "M0,0", fill: "none", stroke: line.color || "#222222",
                              "stroke-width": line.width ?? 2 });
}

// Plotly's textposition ("top center", "middle left", ...) as SVG anchors, 8 px off the point.
const ANCHORS = { left: ["end", -8], right: ["start", 8], center: ["middle", 0] };
const BASELINES = { top: ["text-after-edge", -8], bottom: ["text-before-edge", 8], middle: ["central", 0] };

// Labels are not clipped (a label may stick out of the plot area, as Plotly's own do) but are left out when
// their point is outside it.
function textElements(trace, px, py, inside, fontFamily) {
  const texts = trace.text || [];
  const font = trace.textfont || {};
  const out = [];
  trace.x.forEach((x, i) => {
    const text = at(texts, i, "");
    if (!text || x === null || trace.y[i] === null || !inside(px(x), py(trace.y[i]))) return;
    const [vertical, horizontal] = at(trace.textposition, i, "top center").split(" ");
    const [anchor, dx] = ANCHORS[horizontal] || ANCHORS.center;
    const [baseline, dy] = BASELINES[vertical] || BASELINES.middle;
    const element = svgElement("text", {
      x: px(x) + dx, y: py(trace.y[i]) + dy, "text-anchor": anchor, "dominant-baseline": baseline,
      fill: font.color || "#222222", "font-size": font.size ?? 12, "font-family": fontFamily,
    });
    element.textContent = text; // plain text, never markup
    out.push(element);
  });
  return out;
}

// The overlays' own <svg>, in Plotly's paper div just under its top layer: above the WebGL points and
// the axes, below the legend, the selection box and the hover labels. Plotly may rebuild its frame
// (and move the layer) on a full draw, so it is put back in place before every drawing.
function overlayLayer(state) {
  const paper = state.div.querySelector(".svg-container");
  if (!state.layer) {
    clipCount += 1;
    state.clipId = `latent-map-clip-${clipCount}`;
    state.layer = svgElement("svg", { class: "latent-overlays" });
  }
  const top = paper.querySelectorAll(":scope > svg.main-svg")[1] || null;
  if (state.layer.parentNode !== paper || state.layer.nextSibling !== top) paper.insertBefore(state.layer, top);
  return state.layer;
}

// Draw the overlay traces (x, y lists, null between line pieces) in data order, in pixels of the axes as
// they are now; called again whenever Plotly has redrawn or moved the axes (zoom, pan, resize).
function drawLayer(state) {
  const full = state.div._fullLayout;
  if (!full || !full.xaxis || !full.yaxis || !state.overlays) return;
  const layer = overlayLayer(state);
  const xa = full.xaxis;
  const ya = full.yaxis;
  const px = (x) => xa._offset + xa.l2p(x);
  const py = (y) => ya._offset + ya.l2p(y);
  const fontFamily = getComputedStyle(state.div).fontFamily;
  layer.setAttribute("width", full.width);
  layer.setAttribute("height", full.height);
  const clip = svgElement("clipPath", { id: state.clipId });
  clip.appendChild(svgElement("rect", { x: xa._offset, y: ya._offset, width: xa._length, height: ya._length }));
  const defs = svgElement("defs", {});
  defs.appendChild(clip);
  const inside = (x, y) => x >= xa._offset && x <= xa._offset + xa._length && y >= ya._offset
                           && y <= ya._offset + ya._length;
  const drawing = svgElement("g", { "clip-path": `url(#${state.clipId})` });
  const labels = svgElement("g", {});
  for (const trace of state.overlays) {
    const mode = trace.mode || "markers";
    if (mode.includes("lines")) drawing.appendChild(lineElement(trace, px, py));
    if (mode.includes("markers")) drawing.append(...markerElements(trace, px, py));
    if (mode.includes("text")) labels.append(...textElements(trace, px, py, inside, fontFamily));
  }
  if (state.box) drawing.appendChild(boxElement(state.box, px, py));
  layer.replaceChildren(defs, drawing, labels);
}

// The selection box, drawn as Plotly draws its own: a dark dashed outline over a white one (visible over
// digits of any colour), the digits still visible through it.
function boxElement(box, px, py) {
  const [left, right] = [px(box.x[0]), px(box.x[1])];
  const [top, bottom] = [py(box.y[1]), py(box.y[0])];
  const place = { x: left, y: top, width: right - left, height: bottom - top };
  const group = svgElement("g", { class: "selection-box" });
  group.append(svgElement("rect", { ...place, fill: "rgba(0,0,0,0.04)", stroke: "#ffffff", "stroke-width": 3 }),
               svgElement("rect", { ...place, fill: "none", stroke: "#111111", "stroke-width": 1.5,
                                    "stroke-dasharray": "5 4" }));
  return group;
}

function followAxes(state) {
  const redraw = () => { if (!is3d(state.base)) drawLayer(state); };
  for (const event of ["plotly_afterplot", "plotly_relayout", "plotly_relayouting"]) state.div.on(event, redraw);
}

function selectedIds(points) {
  const ids = points.filter((p) => p.curveNumber === 0 && p.customdata).map((p) => Number(p.customdata[0]));
  return [...new Set(ids)];
}

// A point on the screen (client pixels) in the map's data coordinates, as the axes are now.
function toData(state, clientX, clientY) {
  const full = state.div._fullLayout;
  const rect = state.div.getBoundingClientRect();
  return [full.xaxis.p2l(clientX - rect.left - full.xaxis._offset),
          full.yaxis.p2l(clientY - rect.top - full.yaxis._offset)];
}

// The base digits inside a box given in data coordinates ({x: [lo, hi], y: [lo, hi]}), in their order.
function idsInBox(state, box) {
  const { x, y, customdata } = state.div._fullData[0]; // decoded: the base arrays arrive as typed-array specs
  const ids = [];
  for (let i = 0; i < x.length; i++) {
    if (x[i] >= box.x[0] && x[i] <= box.x[1] && y[i] >= box.y[0] && y[i] <= box.y[1]) {
      ids.push(Number(customdata[i][0]));
    }
  }
  return ids;
}

function boxBetween(state, from, to) {
  const [x0, y0] = toData(state, from.clientX, from.clientY);
  const [x1, y1] = toData(state, to.clientX, to.clientY);
  return { x: [Math.min(x0, x1), Math.max(x0, x1)], y: [Math.min(y0, y1), Math.max(y0, y1)] };
}

const MIN_BOX_PIXELS = 8; // Plotly's own: a smaller drag is a click

// Box selection on a 2-D map is this file's own. Plotly's restyles every WebGL point to mark what is
// selected, on each mouse move of the drag and again on release (50-60 ms each for 5,000 points in
// software WebGL on 2 cores, far more for 70,000), and the page's rerun waited behind it. Here the box is a
// rectangle in the overlay layer, the digits inside it are found in the base arrays, and they are sent the
// moment the button is released: Plotly is never called. A press without a drag is a click on the digit
// under the pointer (Plotly's hover says which); a double click clears the selection, as Plotly's does.
// Lasso selections, and every other drag mode (zoom, pan), stay Plotly's.
function ownBoxSelect(state, send) {
  const inPlot = (event) => event.target.closest && event.target.closest(".nsewdrag");
  state.div.addEventListener("mousedown", (event) => {
    const full = state.div._fullLayout;
    if (event.button !== 0 || !full || full.dragmode !== "select" || is3d(state.base) || !inPlot(event)) return;
    event.stopPropagation(); // Plotly does not start its own box
    event.preventDefault(); // nor does the browser select text
    const from = event;
    let frame = 0;
    const dragged = (e) => Math.abs(e.clientX - from.clientX) >= MIN_BOX_PIXELS
                           || Math.abs(e.clientY - from.clientY) >= MIN_BOX_PIXELS;
    const move = (e) => {
      e.stopPropagation(); // no hover labels while a box is drawn
      if (!dragged(e)) return;
      state.box = boxBetween(state, from, e);
      if (!frame) frame = requestAnimationFrame(() => { frame = 0; drawLayer(state); });
    };
    const up = (e) => {
      document.removeEventListener("mousemove", move, true);
      document.removeEventListener("mouseup", up, true);
      if (!dragged(e)) { // a click
        state.box = null;
        drawLayer(state);
        const ids = selectedIds(state.div._hoverdata || []);
        if (ids.length) send(ids.slice(0, 1));
        return;
      }
      state.box = boxBetween(state, from, e);
      const ids = idsInBox(state, state.box);
      if (ids.length) send(ids); // first: the rerun starts while the box is drawn. An empty box changes nothing
      drawLayer(state);
    };
    document.addEventListener("mousemove", move, true);
    document.addEventListener("mouseup", up, true);
  }, true);
  state.div.addEventListener("dblclick", (event) => {
    const full = state.div._fullLayout;
    if (!full || full.dragmode !== "select" || !inPlot(event)) return;
    state.box = null;
    drawLayer(state);
    send([]);
  });
}

function listen(state, setStateValue) {
  const div = state.div;
  const send = (ids) => setStateValue("selection", { point_indices: ids });
  const sendOthers = (ids) => { state.box = null; send(ids); }; // a lasso or click replaces the box
  ownBoxSelect(state, send);
  div.on("plotly_selected", (event) => {
    if (event && event.points && event.points.length) sendOthers(selectedIds(event.points)); // not empty
  });
  div.on("plotly_click", (event) => {
    const ids = selectedIds(event.points || []);
    if (ids.length) sendOthers(ids.slice(0, 1));
  });
  div.on("plotly_deselect", () => sendOthers([]));
}

function is3d(base) {
  return base.trace.type === "scatter3d";
}

async function draw(state, data, setStateValue, version) {
  const Plotly = await loadPlotly(data.plotly);
  const base = await fetchBase(data.base);
  if (version !== state.version) return; // a newer rerun has arrived meanwhile
  // editSelection off: a finished box stays on screen but is not editable, so a new drag that starts
  // inside it selects anew instead of moving it (the overlays no longer go through Plotly to drop it).
  const config = { displaylogo: false, responsive: true, displayModeBar: data.modebar ? "hover" : false,
                   editSelection: false };
  // The page's own font: Plotly's default lacks the minus sign Plotly writes on negative ticks.
  const font = { family: getComputedStyle(state.div).fontFamily };
  const layout = mergeLayout(mergeLayout({ font }, base.layout || {}), data.layout);
  const layoutKey = JSON.stringify(data.layout);
  const newView = state.baseUrl !== data.base;
  if (newView) {
    // A new view: the one full draw. Plotly keeps the trace object, so later calls reuse it.
    state.trace = { ...base.trace, unselected: { marker: { opacity: base.trace.marker.opacity } } };
    state.base = base;
  }
  state.overlays = data.overlays;
  if (is3d(base)) {
    // A scene has no 2-D axes to lay an SVG over: its overlays are traces, redrawn with it.
    if (state.layer) state.layer.replaceChildren();
    if (newView || JSON.stringify(data.overlays) !== state.overlayKey || layoutKey !== state.layoutKey) {
      await Plotly.react(state.div, [state.trace, ...data.overlays], layout, config);
    }
  } else {
    // The same trace object: Plotly finds no change in the data; a click changes only the SVG layer.
    if (newView || !data.overlays.length) state.box = null; // a new map, or nothing selected (a Clear button)
    if (newView || layoutKey !== state.layoutKey) await Plotly.react(state.div, [state.trace], layout, config);
    // Nothing to draw means nothing selected (e.g. a Clear button): drop Plotly's box of the last selection.
    else if (!data.overlays.length && (state.div.layout.selections || []).length) {
      await Plotly.relayout(state.div, { selections: [] });
    }
    if (version !== state.version) return;
    drawLayer(state);
  }
  if (!state.listening && data.selectable) { listen(state, setStateValue); state.listening = true; }
  if (!state.following) { followAxes(state); state.following = true; }
  state.baseUrl = data.base;
  state.overlayKey = JSON.stringify(data.overlays);
  state.layoutKey = layoutKey;
  state.div.dataset.drawn = data.key; // what is on screen now: tests and the benchmark wait for it
}

// The map's text alternative, as Streamlit gives an st.plotly_chart its `alt`: a figure named by its summary.
// role="figure" (not "img") keeps the plot's own controls reachable inside it; set on every rerun, before the
// (asynchronous) drawing, so the words never lag behind what the page says is shown.
function describe(div, alt) {
  if (alt) {
    div.setAttribute("role", "figure");
    div.setAttribute("aria-label", alt);
  } else {
    div.removeAttribute("role");
    div.removeAttribute("aria-label");
  }
}

export default function (component) {
  const { data, parentElement, setStateValue } = component;
  let state = plots.get(parentElement);
  if (!state) {
    const div = document.createElement("div");
    div.className = "latent-map";
    parentElement.appendChild(div);
    state = { div, version: 0 };
    plots.set(parentElement, state);
  }
  state.version += 1;
  state.div.dataset.wanted = data.key;
  describe(state.div, data.alt);
  draw(state, data, setStateValue, state.version).catch((error) => {
    state.div.dataset.error = String(error);
    console.error("latent map:", error);
  });
}

// A latent map that keeps its digits in the browser (Streamlit Components v2, Plotly.js).
//
// The base map (one WebGL trace of every digit) is fetched once per URL and drawn once. What a
// click changes (rings, paths, placed points) arrives as small overlay traces. On a 2-D map they are
// drawn as SVG shapes and annotations (Plotly.react with the same trace object, so the data is
// unchanged and only they are redrawn): changing any trace of a WebGL subplot
// makes Plotly recompute and redraw every trace in it (0.3 s for 5,000 points, 2-3 s for 70,000 in
// software WebGL), while shapes are redrawn alone (about 0.05 s whatever the map's size).
// A 3-D scene has no shapes, so there the overlays are traces, applied with Plotly.react.

const plots = new WeakMap(); // parentElement -> {div, baseUrl, base, overlayKey, layoutKey, version}
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

// A marker symbol as a path around (0, 0), r pixels from the centre (pixel y points up).
function symbolPath(symbol, r) {
  if (symbol === "x") {
    const w = r * 0.35;
    return `M${-r},${-r + w}L${-w},0L${-r},${r - w}L${-r + w},${r}L0,${w}L${r - w},${r}L${r},${r - w}L${w},0`
      + `L${r},${-r + w}L${r - w},${-r}L0,${-w}L${-r + w},${-r}Z`;
  }
  const points = [];
  for (let k = 0; k < 10; k++) { // star: five outer and five inner corners
    const angle = Math.PI / 2 + (k * Math.PI) / 5;
    const radius = k % 2 ? r * 0.45 : r;
    points.push(`${(radius * Math.cos(angle)).toFixed(2)},${(radius * Math.sin(angle)).toFixed(2)}`);
  }
  return `M${points.join("L")}Z`;
}

function markerShapes(trace) {
  const marker = trace.marker || {};
  const line = marker.line || {};
  const shapes = [];
  trace.x.forEach((x, i) => {
    const y = trace.y[i];
    if (x === null || y === null) return;
    const r = at(marker.size, i, 8) / 2;
    const symbol = at(marker.symbol, i, "circle");
    const shape = {
      xref: "x", yref: "y", xsizemode: "pixel", ysizemode: "pixel", xanchor: x, yanchor: y, layer: "above",
      fillcolor: at(marker.color, i, "#222222"), opacity: marker.opacity ?? 1,
      line: { color: at(line.color, i, "rgba(0,0,0,0)"), width: at(line.width, i, 0) },
    };
    if (symbol === "x" || symbol === "star") Object.assign(shape, { type: "path", path: symbolPath(symbol, r) });
    else Object.assign(shape, { type: "circle", x0: -r, x1: r, y0: -r, y1: r });
    shapes.push(shape);
  });
  return shapes;
}

function linePath(trace) {
  let path = "";
  let pen = "M";
  trace.x.forEach((x, i) => {
    const y = trace.y[i];
    if (x === null || y === null) { pen = "M"; return; }
    path += `${pen}${x},${y}`;
    pen = "L";
  });
  return path;
}

const ANCHORS = { left: ["right", -8], right: ["left", 8], center: ["center", 0] };

function textAnnotations(trace) {
  const texts = trace.text || [];
  const font = trace.textfont || {};
  const out = [];
  trace.x.forEach((x, i) => {
    const text = at(texts, i, "");
    if (!text || x === null) return;
    const [vertical, horizontal] = at(trace.textposition, i, "top center").split(" ");
    const [xanchor, xshift] = ANCHORS[horizontal] || ANCHORS.center;
    out.push({
      x, y: trace.y[i], xref: "x", yref: "y", text, showarrow: false, xanchor, xshift,
      yanchor: vertical === "top" ? "bottom" : vertical === "bottom" ? "top" : "middle",
      yshift: vertical === "top" ? 8 : vertical === "bottom" ? -8 : 0,
      font: { color: font.color, size: font.size },
    });
  });
  return out;
}

// Overlay traces (x, y lists, null between line pieces) as layout shapes and annotations, in drawing order.
function overlayShapes(traces) {
  const shapes = [];
  const annotations = [];
  for (const trace of traces) {
    const mode = trace.mode || "markers";
    if (mode.includes("lines")) {
      const line = trace.line || {};
      shapes.push({ type: "path", xref: "x", yref: "y", layer: "above", path: linePath(trace),
                    line: { color: line.color || "#222222", width: line.width ?? 2 } });
    }
    if (mode.includes("markers")) shapes.push(...markerShapes(trace));
    if (mode.includes("text")) annotations.push(...textAnnotations(trace));
  }
  return { shapes, annotations };
}

function selectedIds(points) {
  const ids = points.filter((p) => p.curveNumber === 0 && p.customdata).map((p) => Number(p.customdata[0]));
  return [...new Set(ids)];
}

function listen(div, setStateValue) {
  const send = (ids) => setStateValue("selection", { point_indices: ids });
  div.on("plotly_selected", (event) => {
    if (event && event.points && event.points.length) send(selectedIds(event.points)); // not an empty box
  });
  div.on("plotly_click", (event) => {
    const ids = selectedIds(event.points || []);
    if (ids.length) send(ids.slice(0, 1));
  });
  div.on("plotly_deselect", () => send([]));
}

function is3d(base) {
  return base.trace.type === "scatter3d";
}

async function draw(state, data, setStateValue, version) {
  const Plotly = await loadPlotly(data.plotly);
  const base = await fetchBase(data.base);
  if (version !== state.version) return; // a newer rerun has arrived meanwhile
  const config = { displaylogo: false, responsive: true, displayModeBar: data.modebar ? "hover" : false };
  // The page's own font: Plotly's default lacks the minus sign Plotly writes on negative ticks.
  const font = { family: getComputedStyle(state.div).fontFamily };
  const layout = mergeLayout(mergeLayout({ font }, base.layout || {}), data.layout);
  const overlayKey = JSON.stringify(data.overlays);
  const layoutKey = JSON.stringify(data.layout);
  if (state.baseUrl !== data.base) {
    // A new view: the one full draw. Plotly keeps the trace objects, so later calls reuse them.
    const trace = { ...base.trace, unselected: { marker: { opacity: base.trace.marker.opacity } } };
    state.trace = trace;
    if (is3d(base)) await Plotly.react(state.div, [trace, ...data.overlays], layout, config);
    else await Plotly.react(state.div, [trace], { ...layout, ...overlayShapes(data.overlays) }, config);
    if (!state.listening && data.selectable) { listen(state.div, setStateValue); state.listening = true; }
    state.baseUrl = data.base;
  } else if (overlayKey !== state.overlayKey || layoutKey !== state.layoutKey) {
    const shapes = overlayShapes(data.overlays);
    if (is3d(base)) await Plotly.react(state.div, [state.trace, ...data.overlays], layout, config);
    // The same trace object: Plotly.react finds no change in the data, redraws only the shapes and
    // annotations, and drops any stale selection outline (a new layout has none).
    else await Plotly.react(state.div, [state.trace], { ...layout, ...shapes }, config);
  }
  state.overlayKey = overlayKey;
  state.layoutKey = layoutKey;
  state.div.dataset.drawn = data.key; // what is on screen now: tests and the benchmark wait for it
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
  draw(state, data, setStateValue, state.version).catch((error) => {
    state.div.dataset.error = String(error);
    console.error("latent map:", error);
  });
}

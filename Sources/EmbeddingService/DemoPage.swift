import FastCGI

/// The page at /demo: pick a page image, type a query, and see the /heatmap answer drawn
/// over the picture, with the aggregate, the score range and the token and patch counts.
///
/// Plain HTML, one script and a canvas, all served by the service itself (no CDN), so the
/// page works offline like /docs. Every URL in it is relative ("heatmap", "demo/demo.js"), so
/// it works unchanged under nginx's COLPALI_PATH_PREFIX.
///
/// The page and its script need no API key: a browser cannot attach `Authorization: Bearer`
/// to a navigation, so a keyed page could never load to ask for the key. They hold nothing
/// secret and cost no model work. The API calls the script makes are keyed: a 401 from the
/// first one shows a key field, and the key is kept in the tab's sessionStorage only.
enum DemoPage {
    /// What the browser may load: the script from the service, its own inline styles,
    /// fetches to the service, and nothing else (no frames around a page that takes a key).
    static let contentSecurityPolicy =
        "default-src 'none'; script-src 'self'; style-src 'unsafe-inline'; connect-src 'self'; img-src 'self' data: blob:; "
        + "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

    static func page() -> HTTPResponse { response(html, contentType: "text/html; charset=utf-8") }
    static func script() -> HTTPResponse { response(javascript, contentType: "application/javascript; charset=utf-8") }

    private static func response(_ text: String, contentType: String) -> HTTPResponse {
        var response = HTTPResponse(text: text, contentType: contentType)
        response.headers.set("content-security-policy", contentSecurityPolicy)
        response.headers.set("cache-control", "no-cache")
        return response
    }

    static let html = #"""
        <!DOCTYPE html>
        <html lang="en">
        <head>
        <meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <title>ColModernVBert heatmap demo</title>
        <style>
        body { font: 15px/1.45 system-ui, sans-serif; margin: 1rem auto; max-width: 1280px; padding: 0 1rem; color: #1b1b1b; }
        h1 { font-size: 1.4rem; margin: 0 0 .3rem; }
        h2 { font-size: 1.1rem; margin: 0 0 .3rem; }
        form.grid { display: grid; grid-template-columns: max-content minmax(0, 28rem); gap: .45rem 1rem; align-items: center; }
        input[type=text], input[type=password], select { font: inherit; padding: .25rem .4rem; }
        button { font: inherit; padding: .3rem .9rem; justify-self: start; }
        #key-section { border: 2px solid #b45309; background: #fffbeb; padding: .6rem .9rem; margin: .8rem 0; }
        #status { min-height: 1.5em; font-weight: 600; }
        body[data-state=error] #status { color: #b91c1c; }
        .result { display: flex; flex-wrap: wrap; gap: 1.2rem; align-items: flex-start; }
        figure { margin: 0; flex: 0 1 auto; }
        .result > section { flex: 1 1 16rem; min-width: 16rem; }
        #view { max-width: 100%; height: auto; border: 1px solid #999; background: #f4f4f4; }
        dl { display: grid; grid-template-columns: max-content auto; gap: .2rem .8rem; margin: 0; }
        dt { font-weight: 600; }
        dd { margin: 0; font-variant-numeric: tabular-nums; }
        #legend { width: 16rem; height: .8rem; display: block; border: 1px solid #999; }
        .legend-labels { display: flex; justify-content: space-between; width: 16rem; font-size: .85rem; }
        </style>
        </head>
        <body data-state="idle">
        <h1>ColModernVBert heatmap</h1>
        <p>Pick a page image and type a query. The service compares every query token with every
        image patch (<code>POST heatmap</code>) and the answer is drawn over the picture: the
        warmer and more opaque a cell, the closer that patch is to the query.</p>

        <section id="key-section" hidden aria-labelledby="key-heading">
        <h2 id="key-heading">API key</h2>
        <p id="key-reason">This service needs an API key.</p>
        <form id="key-form" class="grid">
        <label for="api-key">API key</label>
        <input id="api-key" type="password" autocomplete="off" spellcheck="false" required>
        <span></span>
        <button type="submit">Use key</button>
        </form>
        <p>The key stays in this tab (sessionStorage) and is sent as <code>Authorization: Bearer</code>.</p>
        </section>

        <form id="query-form" class="grid">
        <label for="image">Page image</label>
        <input id="image" type="file" accept="image/*" required>
        <label for="query">Query</label>
        <input id="query" type="text" required placeholder="e.g. quarterly revenue by region">
        <label for="aggregate">Aggregate over query tokens</label>
        <select id="aggregate">
        <option value="max" selected>max</option>
        <option value="mean">mean</option>
        <option value="sum">sum</option>
        </select>
        <label for="opacity">Overlay opacity</label>
        <input id="opacity" type="range" min="0" max="100" value="100">
        <span></span>
        <span><button id="submit" type="submit">Show heatmap</button>
        <button id="forget-key" type="button" hidden>Forget API key</button></span>
        </form>

        <p id="status" role="status" aria-live="polite">Pick a page image and type a query.</p>

        <div class="result">
        <figure>
        <canvas id="view" width="0" height="0" role="img"
         aria-label="The page image, with the heatmap drawn over it once computed"></canvas>
        </figure>
        <section aria-labelledby="facts-heading">
        <h2 id="facts-heading">Heatmap</h2>
        <dl>
        <dt>Aggregate</dt><dd id="fact-aggregate">-</dd>
        <dt>Score range</dt><dd id="fact-range">-</dd>
        <dt>Query tokens</dt><dd id="fact-tokens">-</dd>
        <dt>Image patches</dt><dd id="fact-patches">-</dd>
        <dt>Image size</dt><dd id="fact-size">-</dd>
        <dt>Model</dt><dd id="fact-model">-</dd>
        </dl>
        <p id="legend-caption">Colour scale (normalised score 0 to 1):</p>
        <canvas id="legend" width="256" height="1" aria-hidden="true"></canvas>
        <div class="legend-labels"><span id="legend-low">low</span><span id="legend-high">high</span></div>
        </section>
        </div>
        <script src="demo/demo.js"></script>
        </body>
        </html>
        """#

    /// Relative URLs throughout: "info" from <prefix>/demo is <prefix>/info.
    static let javascript = #"""
        "use strict";
        (() => {
          const keyStore = "colmodernvbert-demo-api-key";
          const $ = (id) => document.getElementById(id);
          const state = { key: sessionStorage.getItem(keyStore) || "", bitmap: null, result: null, retry: null, picture: 0 };

          class NeedsKey extends Error {}

          function setState(name, message) {
            document.body.dataset.state = name;
            $("status").textContent = message;
          }

          function detail(body) {
            if (!body || body.detail === undefined) return "";
            if (typeof body.detail === "string") return body.detail;
            if (Array.isArray(body.detail)) return body.detail.map((item) => item.msg).join("; ");
            return JSON.stringify(body.detail);
          }

          // One API call: the key when there is one; 401 becomes NeedsKey, other failures an Error
          // carrying the service's {"detail": ...}.
          async function call(path, init = {}) {
            const headers = Object.assign({}, init.headers || {});
            if (state.key) headers.Authorization = "Bearer " + state.key;
            const response = await fetch(path, Object.assign({}, init, { headers }));
            let body = null;
            try { body = await response.json(); } catch (_) { body = null; }
            if (response.status === 401) throw new NeedsKey(detail(body) || "Not authenticated");
            if (!response.ok) throw new Error(path + ": " + response.status + " " + (detail(body) || response.statusText));
            return body;
          }

          function askForKey(reason) {
            $("key-section").hidden = false;
            $("key-reason").textContent = state.key
              ? "The service refused the key (" + reason + "). Enter another API key."
              : "This service needs an API key (" + reason + ").";
            setState("needs-key", "An API key is needed: enter it above.");
            $("api-key").focus();
          }

          // Diverging blue - grey - red ramp; the alpha grows with the score, and stays below 1
          // so the picture shows through everywhere.
          const stops = [[0, [59, 76, 192]], [0.5, [221, 221, 221]], [1, [180, 4, 38]]];
          function overlayColour(value) {
            const v = Math.min(Math.max(Number(value) || 0, 0), 1);
            let i = 0;
            while (i < stops.length - 2 && v > stops[i + 1][0]) i += 1;
            const [v0, c0] = stops[i];
            const [v1, c1] = stops[i + 1];
            const t = (v - v0) / (v1 - v0);
            const rgb = c0.map((c, k) => Math.round(c + (c1[k] - c) * t));
            return [rgb[0], rgb[1], rgb[2], 0.25 + 0.45 * v];
          }

          function draw() {
            const canvas = $("view");
            const context = canvas.getContext("2d");
            const map = state.result;
            const width = state.bitmap ? state.bitmap.width : map ? map.image_width : 0;
            const height = state.bitmap ? state.bitmap.height : map ? map.image_height : 0;
            canvas.width = width;
            canvas.height = height;
            if (state.bitmap) {
              context.drawImage(state.bitmap, 0, 0);
            } else {
              context.fillStyle = "#ffffff";
              context.fillRect(0, 0, width, height);
            }
            if (!map) return;
            const opacity = Number($("opacity").value) / 100;
            const rows = map.grid_rows;
            const columns = map.grid_columns;
            // The grid covers the whole picture: the tiles are cut from the resized image.
            for (let r = 0; r < rows; r += 1) {
              const y0 = Math.round((r * height) / rows);
              const y1 = Math.round(((r + 1) * height) / rows);
              for (let c = 0; c < columns; c += 1) {
                const x0 = Math.round((c * width) / columns);
                const x1 = Math.round(((c + 1) * width) / columns);
                const [red, green, blue, alpha] = overlayColour(map.heatmap[r][c]);
                context.fillStyle = "rgba(" + red + "," + green + "," + blue + "," + (alpha * opacity).toFixed(3) + ")";
                context.fillRect(x0, y0, x1 - x0, y1 - y0);
              }
            }
          }

          function drawLegend() {
            const canvas = $("legend");
            const context = canvas.getContext("2d");
            for (let x = 0; x < canvas.width; x += 1) {
              const [red, green, blue, alpha] = overlayColour(x / (canvas.width - 1));
              context.fillStyle = "rgba(" + red + "," + green + "," + blue + "," + alpha + ")";
              context.fillRect(x, 0, 1, canvas.height);
            }
          }

          function number(value) {
            return Math.abs(value) >= 1000 || (value !== 0 && Math.abs(value) < 0.001) ? value.toExponential(3) : value.toFixed(4);
          }

          function showFacts(map, tokens) {
            const rangeText = number(map.min_score) + " to " + number(map.max_score);
            $("fact-aggregate").textContent = map.aggregate + " over the query tokens";
            $("fact-range").textContent = rangeText + " (cosine similarity, " + map.aggregate + "; colours normalised to 0-1)";
            $("fact-tokens").textContent = String(tokens);
            $("fact-patches").textContent =
              map.grid_rows * map.grid_columns + " (" + map.grid_rows + " rows x " + map.grid_columns + " columns)";
            let size = map.image_width + " x " + map.image_height + " px";
            if (state.bitmap && (state.bitmap.width !== map.image_width || state.bitmap.height !== map.image_height)) {
              size += " (shown here as " + state.bitmap.width + " x " + state.bitmap.height + ")";
            }
            $("fact-size").textContent = size;
            $("legend-low").textContent = number(map.min_score);
            $("legend-high").textContent = number(map.max_score);
            let best = [0, 0];
            map.heatmap.forEach((row, r) => row.forEach((v, c) => { if (v > map.heatmap[best[0]][best[1]]) best = [r, c]; }));
            $("view").setAttribute("aria-label", "The page image with the heatmap over it, " + map.grid_rows + " x " + map.grid_columns +
              " patches; the closest patch is in row " + (best[0] + 1) + ", column " + (best[1] + 1) + ".");
          }

          function clearFacts() {
            for (const id of ["fact-aggregate", "fact-range", "fact-tokens", "fact-patches", "fact-size"]) $(id).textContent = "-";
            $("legend-low").textContent = "low";
            $("legend-high").textContent = "high";
          }

          // The query's token count: its /embed/queries answer (base64, so only the shape matters).
          async function queryTokens(query) {
            const body = await call("embed/queries", {
              method: "POST",
              headers: { "Content-Type": "application/json" },
              body: JSON.stringify({ queries: [query], encoding: "base64" }),
            });
            const embedding = body.embeddings[0];
            return Array.isArray(embedding) ? embedding.length : embedding.shape[0];
          }

          async function loadPicture() {
            const file = $("image").files[0];
            state.picture += 1;
            state.result = null;
            state.bitmap = null;
            clearFacts();
            if (!file) { draw(); return; }
            try {
              state.bitmap = await createImageBitmap(file);
              setState("ready", "Picture loaded: type a query and show the heatmap.");
            } catch (_) {
              setState("ready", "This browser cannot show " + (file.type || "this file") + "; the heatmap is drawn on white.");
            }
            draw();
          }

          async function showHeatmap() {
            const file = $("image").files[0];
            const query = $("query").value.trim();
            if (!file || !query) { setState("error", "Pick a page image and type a query first."); return; }
            const picture = state.picture;
            state.retry = showHeatmap;
            setState("loading", "Computing the heatmap...");
            $("submit").disabled = true;
            try {
              const form = new FormData();
              form.append("query", query);
              form.append("image", file, file.name);
              form.append("aggregate", $("aggregate").value);
              const [map, tokens] = await Promise.all([call("heatmap", { method: "POST", body: form }), queryTokens(query)]);
              state.retry = null;
              if (picture !== state.picture) return; // another picture was picked meanwhile
              state.result = map;
              draw();
              showFacts(map, tokens);
              setState("drawn", "Heatmap drawn: " + map.grid_rows + " x " + map.grid_columns + " patches, " + tokens + " query tokens.");
            } catch (error) {
              if (error instanceof NeedsKey) {
                askForKey(error.message);
              } else {
                state.retry = null;
                setState("error", String(error.message || error));
              }
            } finally {
              $("submit").disabled = false;
            }
          }

          // Whether the service wants a key, before anything is submitted; the model's name.
          async function checkService() {
            try {
              const info = await call("info");
              $("fact-model").textContent = info.model_id + " (" + info.device + ")";
            } catch (error) {
              if (error instanceof NeedsKey) { askForKey(error.message); return; }
              $("fact-model").textContent = String(error.message || error);
            }
          }

          function useKey(event) {
            event.preventDefault();
            state.key = $("api-key").value.trim();
            $("api-key").value = "";
            if (!state.key) return;
            sessionStorage.setItem(keyStore, state.key);
            $("key-section").hidden = true;
            $("forget-key").hidden = false;
            setState("idle", "Key set.");
            // The request the key was asked for runs again.
            const retry = state.retry;
            state.retry = null;
            checkService();
            if (retry) retry();
          }

          function forgetKey() {
            state.key = "";
            sessionStorage.removeItem(keyStore);
            $("forget-key").hidden = true;
            setState("idle", "Key forgotten.");
            checkService();
          }

          $("image").addEventListener("change", loadPicture);
          $("opacity").addEventListener("input", () => { if (state.result) draw(); });
          $("query-form").addEventListener("submit", (event) => { event.preventDefault(); showHeatmap(); });
          $("key-form").addEventListener("submit", useKey);
          $("forget-key").addEventListener("click", forgetKey);
          $("forget-key").hidden = !state.key;
          window.colmodernvbertDemo = { overlayColour, result: () => state.result };
          drawLegend();
          checkService();
        })();
        """#
}

#!/usr/bin/env python3
"""Drives the /demo page in headless Chromium and reports what it showed.

    scripts/cdp_screenshot.py --url http://127.0.0.1:7000/demo --image PAGE.jpg --query TEXT
                              --out DIR [--aggregate max] [--key KEY] [--wrong-key KEY]
                              [--chromium chromium] [--timeout 60]

Chromium is driven over the DevTools protocol through a pipe (--remote-debugging-pipe:
it reads commands on fd 3 and writes answers on fd 4, each a JSON text ended by NUL), so
nothing beyond the standard library is needed to drive it. The steps are a user's: open
the page; with --key, wait for the page to ask for a key (its first call got 401), type
--wrong-key if given and wait to be asked again; pick the image (the file input), type the
query, choose the aggregate, press "Show heatmap"; with --key, wait to be asked once more
(the heatmap request got 401) and type the key, so that the page retries that request;
wait until the page says it drew the heatmap (body[data-state]); take a screenshot
(DIR/demo.png).

Prints one JSON report on stdout (and writes it to DIR/report.json): the states seen, the
texts shown (status, facts, key prompts), the canvas's place on the screen, the heatmap
the page received, console errors (a Content-Security-Policy refusal shows up there), what
the tab stored, and, when Pillow and numpy are importable, pixel measures of the
screenshot against the plain image and against the plain image with the page's overlay
composited the way a canvas does it (see measure()). The caller asserts on the report;
this script fails (exit 1) only when it cannot drive the page at all. Every wait is
bounded by --timeout; Chromium (its whole process group) is killed on the way out.
"""

import argparse
import base64
import fcntl
import json
import os
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time


class DevTools:
    """A DevTools protocol client over Chromium's debugging pipe."""

    def __init__(self, chromium, deadline):
        self.deadline = deadline
        self.profile = tempfile.mkdtemp(prefix="cdp-profile.")
        to_browser_r, self.to_browser = os.pipe()
        self.from_browser, from_browser_w = os.pipe()

        def place_pipes():  # runs in the child, before exec: the pipe ends on fds 3 and 4
            # Moved above 10 first: either end may itself be fd 3 or 4.
            reading, writing = (fcntl.fcntl(fd, fcntl.F_DUPFD, 10) for fd in (to_browser_r, from_browser_w))
            os.dup2(reading, 3)
            os.dup2(writing, 4)

        args = [
            chromium, "--headless=new", "--remote-debugging-pipe", f"--user-data-dir={self.profile}",
            "--no-first-run", "--no-default-browser-check", "--disable-gpu", "--disable-extensions",
            "--disable-background-networking", "--disable-sync", "--mute-audio", "--hide-scrollbars",
            "--force-color-profile=srgb",
            # Chromium refuses to start as root with its sandbox, and as another user it needs
            # user namespaces (often unavailable in containers); it only ever loads the test service.
            "--no-sandbox", "about:blank",
        ]
        self.log = open(os.path.join(self.profile, "chromium.log"), "wb")
        self.process = subprocess.Popen(
            args, stdin=subprocess.DEVNULL, stdout=self.log, stderr=self.log,
            preexec_fn=place_pipes, pass_fds=(3, 4), start_new_session=True)
        os.close(to_browser_r)
        os.close(from_browser_w)
        self.buffer = b""
        self.next_id = 0
        self.events = []
        self.session = None

    def log_tail(self):
        self.log.flush()
        with open(self.log.name, "rb") as file:
            return file.read()[-2000:].decode(errors="replace")

    def close(self):
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.process.wait(timeout=10)
        for fd in (self.to_browser, self.from_browser):
            os.close(fd)
        self.log.close()
        shutil.rmtree(self.profile, ignore_errors=True)

    def _read_message(self):
        while b"\0" not in self.buffer:
            left = self.deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("no answer from Chromium before the deadline")
            ready, _, _ = select.select([self.from_browser], [], [], left)
            if not ready:
                continue
            chunk = os.read(self.from_browser, 1 << 20)
            if not chunk:
                raise RuntimeError(f"Chromium closed its pipe (exit {self.process.poll()})")
            self.buffer += chunk
        text, _, self.buffer = self.buffer.partition(b"\0")
        return json.loads(text)

    def call(self, method, params=None, session=True):
        self.next_id += 1
        message = {"id": self.next_id, "method": method, "params": params or {}}
        if session and self.session:
            message["sessionId"] = self.session
        os.write(self.to_browser, json.dumps(message).encode() + b"\0")
        while True:
            answer = self._read_message()
            if answer.get("id") == self.next_id:
                if "error" in answer:
                    raise RuntimeError(f"{method}: {answer['error']}")
                return answer.get("result", {})
            self.events.append(answer)

    def wait_event(self, method):
        for index, event in enumerate(self.events):
            if event.get("method") == method:
                return self.events.pop(index)
        while True:
            event = self._read_message()
            if event.get("method") == method:
                return event
            self.events.append(event)

    def evaluate(self, expression):
        result = self.call("Runtime.evaluate", {"expression": expression, "returnByValue": True, "awaitPromise": True})
        if "exceptionDetails" in result:
            raise RuntimeError(f"{expression}: {result['exceptionDetails']}")
        return result["result"].get("value")

    def wait_for(self, expression, what):
        """Polls a page expression until it is truthy (every 50 ms, bounded by the deadline)."""
        while time.monotonic() < self.deadline:
            value = self.evaluate(expression)
            if value:
                return value
            time.sleep(0.05)
        raise TimeoutError(f"timed out waiting for {what}; page state {self.evaluate('document.body.dataset.state')!r}")

    def type_into(self, element_id, text):
        self.evaluate(f"document.getElementById({json.dumps(element_id)}).focus()")
        self.call("Input.insertText", {"text": text})


STATE = "document.body.dataset.state"


def drive(tools, options, report):
    target = tools.call("Target.createTarget", {"url": "about:blank"}, session=False)["targetId"]
    tools.session = tools.call("Target.attachToTarget", {"targetId": target, "flatten": True}, session=False)["sessionId"]
    for domain in ("Page", "Runtime", "Log", "DOM"):
        tools.call(f"{domain}.enable")
    tools.call("Emulation.setDeviceMetricsOverride", {"width": 1400, "height": 1500, "deviceScaleFactor": 1, "mobile": False})
    tools.call("Page.navigate", {"url": options.url})
    tools.wait_event("Page.loadEventFired")
    states = report["states"]

    def settle(done, what):
        tools.wait_for(done, what)
        states.append(tools.evaluate(STATE))

    def enter_key(key):
        tools.type_into("api-key", key)
        tools.evaluate("document.querySelector('#key-form button').click()")

    prompt = "document.getElementById('key-reason').textContent"
    if options.key:
        # The page asks on its own (its first call, /info, got 401); the right key is given
        # only after the heatmap was asked for, so that its request is the one retried.
        settle(f"{STATE} === 'needs-key'", "the page to ask for an API key")
        report["key_prompt"] = tools.evaluate(prompt)
        report["key_field_visible"] = tools.evaluate("!document.getElementById('key-section').hidden")
        if options.wrong_key:
            enter_key(options.wrong_key)
            settle(f"{STATE} === 'needs-key' && {prompt}.includes('refused')", "the page to refuse the wrong key")
            report["wrong_key_prompt"] = tools.evaluate(prompt)
    else:
        settle("document.getElementById('fact-model').textContent !== '-'", "the page to read /info")

    node = tools.call("Runtime.evaluate", {"expression": "document.getElementById('image')"})["result"]["objectId"]
    tools.call("DOM.setFileInputFiles", {"files": [os.path.abspath(options.image)], "objectId": node})
    settle(f"{STATE} === 'ready'", "the picture to load")
    tools.type_into("query", options.query)
    tools.evaluate(f"document.getElementById('aggregate').value = {json.dumps(options.aggregate)}")
    tools.evaluate("document.getElementById('submit').click()")
    if options.key:
        settle(f"{STATE} === 'needs-key'", "the page to ask for a key for the heatmap")
        report["key_prompt_on_submit"] = tools.evaluate(prompt)
        enter_key(options.key)
    settle(f"['drawn', 'error', 'needs-key'].includes({STATE})", "the heatmap to be drawn")

    settle("document.getElementById('fact-model').textContent !== '-'", "the page to read /info")
    report["model_fact"] = tools.evaluate("document.getElementById('fact-model').textContent")
    report["status"] = tools.evaluate("document.getElementById('status').textContent")
    report["facts"] = tools.evaluate(
        "Object.fromEntries([...document.querySelectorAll('dd')].map((dd) => [dd.id.replace('fact-', ''), dd.textContent]))")
    report["canvas"] = tools.evaluate(
        "(() => { const c = document.getElementById('view'); const r = c.getBoundingClientRect();"
        " return {x: r.x + c.clientLeft, y: r.y + c.clientTop, width: c.clientWidth, height: c.clientHeight,"
        " pixels_x: c.width, pixels_y: c.height,"
        " device_pixel_ratio: window.devicePixelRatio}; })()")
    report["canvas_label"] = tools.evaluate("document.getElementById('view').getAttribute('aria-label')")
    report["result"] = tools.evaluate("window.colmodernvbertDemo.result()")
    report["opacity"] = tools.evaluate("Number(document.getElementById('opacity').value) / 100")
    if report["result"]:
        report["colours"] = tools.evaluate(
            "window.colmodernvbertDemo.result().heatmap.map((row) => row.map(window.colmodernvbertDemo.overlayColour))")
    report["storage"] = tools.evaluate(
        "({session: Object.fromEntries(Object.entries(sessionStorage)), local_items: localStorage.length})")
    shot = tools.call("Page.captureScreenshot", {"format": "png"})
    path = os.path.join(options.out, "demo.png")
    with open(path, "wb") as file:
        file.write(base64.b64decode(shot["data"]))
    report["screenshot"] = path
    for event in tools.events:
        entry = event.get("params", {}).get("entry", {})
        # Chromium asks for /favicon.ico by itself; the service has none (404).
        favicon = entry.get("url", "").endswith("/favicon.ico")
        if event.get("method") == "Log.entryAdded" and entry.get("level") == "error" and not favicon:
            report["console_errors"].append(f"{entry.get('text', '')} ({entry.get('url', '')})")
        if event.get("method") == "Runtime.exceptionThrown":
            report["console_errors"].append(json.dumps(event["params"]["exceptionDetails"])[:500])
        if event.get("method") == "Runtime.consoleAPICalled" and event["params"].get("type") == "error":
            report["console_errors"].append(json.dumps(event["params"].get("args"))[:500])


def measure(report, image_path):
    """Screenshot pixels against the plain image (P) and against the expected overlay (E).

    A canvas composites a fill of colour C at alpha a as P*(1-a) + C*a, so E is computed from
    the heatmap and the colours the page used. Pixels within 2 px of a cell edge are left out
    (rounding of the cell edges). `detail_correlation`: the screenshot and P correlated after
    removing each cell's mean, i.e. whether the picture's own detail is visible through the overlay.
    """
    try:
        import numpy
        from PIL import Image
    except ImportError as error:
        report["pixels"] = {"skipped": f"needs Pillow and numpy: {error}"}
        return
    canvas, result = report["canvas"], report["result"]
    shot = numpy.asarray(Image.open(report["screenshot"]).convert("RGB"), dtype=numpy.float64)
    plain = numpy.asarray(Image.open(image_path).convert("RGB"), dtype=numpy.float64)
    x, y = round(canvas["x"]), round(canvas["y"])
    height, width = plain.shape[:2]
    shown = shot[y:y + height, x:x + width]
    if shown.shape != plain.shape or round(canvas["width"]) != width or round(canvas["height"]) != height:
        report["pixels"] = {"skipped": f"canvas shown at {canvas}, picture {width}x{height}: not 1:1"}
        return
    rows, columns = result["grid_rows"], result["grid_columns"]
    expected = plain.copy()
    inside = numpy.zeros((height, width), dtype=bool)
    cells = []
    for r in range(rows):
        y0, y1 = js_round(r * height / rows), js_round((r + 1) * height / rows)
        for c in range(columns):
            x0, x1 = js_round(c * width / columns), js_round((c + 1) * width / columns)
            red, green, blue, alpha = report["colours"][r][c]
            alpha = round(alpha * report["opacity"] * 255) / 255
            colour = numpy.array([red, green, blue], dtype=numpy.float64)
            expected[y0:y1, x0:x1] = plain[y0:y1, x0:x1] * (1 - alpha) + colour * alpha
            inside[y0 + 2:y1 - 2, x0 + 2:x1 - 2] = True
            cells.append((y0 + 2, y1 - 2, x0 + 2, x1 - 2))
    centred_shot, centred_plain = [], []
    for y0, y1, x0, x1 in cells:
        if y1 <= y0 or x1 <= x0:
            continue
        a, b = shown[y0:y1, x0:x1], plain[y0:y1, x0:x1]
        centred_shot.append((a - a.mean(axis=(0, 1))).ravel())
        centred_plain.append((b - b.mean(axis=(0, 1))).ravel())
    detail = numpy.corrcoef(numpy.concatenate(centred_shot), numpy.concatenate(centred_plain))[0, 1]
    report["pixels"] = {
        "compared": int(inside.sum()),
        "mean_abs_vs_plain": float(numpy.abs(shown - plain)[inside].mean()),
        "mean_abs_vs_expected_overlay": float(numpy.abs(shown - expected)[inside].mean()),
        "p99_abs_vs_expected_overlay": float(numpy.percentile(numpy.abs(shown - expected)[inside], 99)),
        "detail_correlation": float(detail),
    }


def js_round(value):
    """JavaScript's Math.round (halves up), which the page uses for the cell edges."""
    return int(value + 0.5) if value >= 0 else -int(-value + 0.5)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", required=True)
    parser.add_argument("--image", required=True)
    parser.add_argument("--query", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--aggregate", default="max")
    parser.add_argument("--key")
    parser.add_argument("--wrong-key")
    parser.add_argument("--chromium", default=os.environ.get("CHROMIUM", "chromium"))
    parser.add_argument("--timeout", type=float, default=60)
    options = parser.parse_args()
    os.makedirs(options.out, exist_ok=True)
    started = time.monotonic()
    report = {"states": [], "console_errors": []}
    tools = DevTools(options.chromium, started + options.timeout)
    try:
        drive(tools, options, report)
    except (TimeoutError, RuntimeError, OSError) as error:
        report["error"] = str(error)
        report["chromium_log"] = tools.log_tail()
    finally:
        tools.close()
    if "screenshot" in report and report.get("result"):
        measure(report, options.image)
    report.pop("colours", None)
    report["seconds"] = round(time.monotonic() - started, 2)
    with open(os.path.join(options.out, "report.json"), "w") as file:
        json.dump(report, file, indent=1)
    json.dump(report, sys.stdout, indent=1)
    print()
    return 1 if "error" in report else 0


if __name__ == "__main__":
    sys.exit(main())

//! End-to-end test of the desktop studio: the real app under Xvfb, driven by tauri-driver
//! (WebKitWebDriver) over WebDriver HTTP on loopback. It runs the sample job, reads the result
//! table back, and checks by OCR that a tenant id is visible in a screenshot of the window.

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

type Result<T, E = String> = std::result::Result<T, E>;

const REPO: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/..");
/// The X screen; the app's window (1280x860 in tauri.conf.json) fills it.
const SCREEN: &str = "1280x860x24";
/// How long the run may take, from the click to rows in the table.
const RUN_TIMEOUT: Duration = Duration::from_secs(120);
/// What the sample data holds (scripts/gen-sample-data.py).
const TENANTS: [&str; 3] = ["acme-health", "globex-retail", "initech-finance"];
/// Words of the chart's title (drawn into the PNG), as OCR reads them in lower case.
const CHART_TITLE: &str = "by tenant";
const FIRST_WINDOW: &str = "2026-02-12 10:00:00";
const LAST_WINDOW: &str = "2026-02-12 11:45:00";

#[test]
fn studio_runs_the_sample_job_and_shows_its_rows_and_chart() -> Result<()> {
    check_prerequisites()?;
    let tmp = TempDir::new("e2e")?;
    let xvfb = Xvfb::start()?;
    let driver = TauriDriver::start(&xvfb.display, &tmp.0)?;
    let session = Session::new(driver.port)?;

    // The page has loaded the sample job into the editor.
    let editor = wait_for(
        "the editor to hold the sample job",
        Duration::from_secs(60),
        || {
            let text = session.script("return document.querySelector('#editor')?.value ?? ''")?;
            Ok(text
                .as_str()
                .filter(|s| s.contains("session_analytics"))
                .map(str::to_owned))
        },
    )?;
    assert!(
        editor.contains("TUMBLE"),
        "the editor shows the job's SQL: {editor}"
    );

    session.click("#run")?;
    let status = wait_for("rows in #result-table", RUN_TIMEOUT, || {
        let status = session.text("#status")?;
        if session.status_is("error")? {
            return Err(format!("the run failed: {status}"));
        }
        let rows =
            session.script("return document.querySelectorAll('#result-table tbody tr').length")?;
        Ok((rows.as_u64().unwrap_or(0) > 0 && status.contains("rows written")).then_some(status))
    })?;

    // The table, read back cell by cell through WebDriver.
    let table = session.script(
        "const t = document.querySelector('#result-table');
         return {
           columns: [...t.querySelectorAll('thead .col-name')].map(e => e.textContent),
           rows: [...t.querySelectorAll('tbody tr')].map(r => [...r.cells].map(c => c.textContent)),
         };",
    )?;
    let columns = strings(&table["columns"]);
    let rows: Vec<Vec<String>> = table["rows"]
        .as_array()
        .into_iter()
        .flatten()
        .map(strings)
        .collect();
    let col = |name: &str| {
        columns
            .iter()
            .position(|c| c == name)
            .ok_or_else(|| format!("no column {name} in {columns:?}"))
    };
    let (tenant, start) = (col("tenant_id")?, col("window_start")?);
    let tenants: Vec<&str> = rows.iter().map(|r| r[tenant].as_str()).collect();
    let starts: Vec<&str> = rows.iter().map(|r| r[start].as_str()).collect();
    for t in TENANTS {
        assert!(tenants.contains(&t), "tenant {t} in the table: {tenants:?}");
    }
    assert!(
        starts.iter().any(|s| s.starts_with(FIRST_WINDOW)),
        "first window: {starts:?}"
    );
    assert!(
        starts.iter().any(|s| s.starts_with(LAST_WINDOW)),
        "last window: {starts:?}"
    );
    assert!(
        status.contains(&format!("{} rows written", rows.len())),
        "the status counts the rows the table shows ({}): {status}",
        rows.len()
    );
    assert!(status.contains("3 parse errors skipped"), "{status}");
    let chart_width =
        session.script("return document.querySelector('#chart')?.naturalWidth ?? 0")?;
    assert!(
        chart_width.as_u64().unwrap_or(0) > 0,
        "#chart shows a picture"
    );

    // What a person sees: a screenshot of the window, read by OCR. The X framebuffer may lag
    // the DOM by a few frames, so look again until the text shows or the time is up.
    let shot = tmp.0.join("studio.png");
    let ocr_input = tmp.0.join("studio-ocr.png");
    // The screenshot in docs/ is refreshed only when asked, so a test run leaves the tree clean.
    let docs = Path::new(REPO).join("docs/studio-first-slice.png");
    let update_docs = std::env::var_os("WEIR_UPDATE_SCREENSHOTS").is_some();
    let mut last_text = String::new();
    let seen = wait_for(
        "a tenant id and the chart to be legible on screen",
        Duration::from_secs(45),
        || {
            run(Command::new("import")
                .args(["-window", "root"])
                .arg(&shot)
                .env("DISPLAY", &xvfb.display))?;
            if update_docs {
                std::fs::copy(&shot, &docs)
                    .map_err(|e| format!("copying the screenshot to {}: {e}", docs.display()))?;
            }
            run(Command::new("convert")
                .arg(&shot)
                .args(["-resize", "200%", "-colorspace", "Gray"])
                .arg(&ocr_input))?;
            last_text = run(Command::new("tesseract")
                .arg(&ocr_input)
                .arg("stdout")
                .stderr(Stdio::null()))?
            .to_lowercase();
            let seen: Vec<&str> = TENANTS
                .iter()
                .copied()
                .filter(|t| tenants.contains(t) && last_text.contains(t))
                .collect();
            // The title weir-charts draws into the PNG says the chart is on screen too.
            Ok((!seen.is_empty() && last_text.contains(CHART_TITLE)).then_some(seen))
        },
    )
    .map_err(|e| format!("{e}; OCR last read:\n{last_text}"))?;
    eprintln!(
        "tenant ids read on screen by OCR: {seen:?}; screenshot: {}",
        docs.display()
    );

    // A broken script: the status names the error's line and column, the gutter marks the line.
    // (U+E007 is the WebDriver Enter key.)
    session.type_into("#editor", "SELECT 1;\u{E007}SELECT FROM WHERE;")?;
    session.click("#run")?;
    wait_for("the run to fail", RUN_TIMEOUT, || {
        Ok(session.status_is("error")?.then_some(()))
    })
    .map_err(|e| format!("{e}; status: {:?}", session.text("#status")))?;
    let status = session.text("#status")?;
    assert!(
        status.contains("at line 2, column"),
        "the status points at the error: {status}"
    );
    let marked = session.text(".gutter .ln.bad")?;
    assert_eq!(marked, "2", "the gutter marks the error's line");
    let rows =
        session.script("return document.querySelectorAll('#result-table tbody tr').length")?;
    assert_eq!(
        rows.as_u64(),
        Some(0),
        "a failed run leaves no stale rows on screen"
    );
    Ok(())
}

/// Fails, naming the script that installs them, when the tools the test needs are missing.
fn check_prerequisites() -> Result<()> {
    let missing: Vec<&str> = [
        "Xvfb",
        "tauri-driver",
        "WebKitWebDriver",
        "import",
        "convert",
        "tesseract",
    ]
    .into_iter()
    .filter(|tool| !on_path(tool))
    .collect();
    if !missing.is_empty() {
        return Err(format!(
            "missing {}: run scripts/setup-desktop.sh (it installs the desktop test's tools)",
            missing.join(", ")
        ));
    }
    if !Path::new(REPO).join("ui/dist/weir_ui_bg.wasm").is_file() {
        return Err("the UI is not built: run scripts/build-ui.sh, then this test again".into());
    }
    Ok(())
}

fn on_path(tool: &str) -> bool {
    std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).any(|dir| dir.join(tool).is_file()))
        .unwrap_or(false)
}

/// Runs a command to completion and returns its standard output.
fn run(cmd: &mut Command) -> Result<String> {
    let out = cmd.output().map_err(|e| format!("{cmd:?}: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "{cmd:?}: {}: {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Polls `probe` every 250 ms until it yields a value, fails, or `timeout` passes.
fn wait_for<T>(
    what: &str,
    timeout: Duration,
    mut probe: impl FnMut() -> Result<Option<T>>,
) -> Result<T> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(v) = probe()? {
            return Ok(v);
        }
        if Instant::now() > deadline {
            return Err(format!("timed out after {timeout:?} waiting for {what}"));
        }
        std::thread::sleep(Duration::from_millis(250));
    }
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .into_iter()
        .flatten()
        .map(|s| s.as_str().unwrap_or_default().to_owned())
        .collect()
}

/// A fresh folder under the system's temporary directory, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> Result<Self> {
        let dir = std::env::temp_dir().join(format!("weir-studio-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        Ok(Self(dir))
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A child process in its own process group; the whole group is ended on drop (tauri-driver
/// starts WebKitWebDriver, which starts the app).
struct Group {
    child: Child,
    name: &'static str,
}

impl Group {
    fn spawn(name: &'static str, cmd: &mut Command) -> Result<Self> {
        let child = cmd
            .process_group(0)
            .spawn()
            .map_err(|e| format!("starting {name}: {e}"))?;
        Ok(Self { child, name })
    }

    fn signal(&self, sig: &str) {
        let _ = Command::new("kill")
            .args([sig, "--", &format!("-{}", self.child.id())])
            .stderr(Stdio::null())
            .status();
    }
}

impl Drop for Group {
    fn drop(&mut self) {
        self.signal("-TERM");
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        self.signal("-KILL");
        if self.child.try_wait().ok().flatten().is_none() {
            eprintln!("{}: killed", self.name);
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// An X server on a display it picks itself (`-displayfd`), so parallel runs do not collide.
struct Xvfb {
    display: String,
    _group: Group,
}

impl Xvfb {
    fn start() -> Result<Self> {
        let mut group = Group::spawn(
            "Xvfb",
            Command::new("Xvfb")
                .args([
                    "-displayfd",
                    "1",
                    "-screen",
                    "0",
                    SCREEN,
                    "-nolisten",
                    "tcp",
                ])
                .stdout(Stdio::piped())
                .stderr(Stdio::null()),
        )?;
        let out = group.child.stdout.take().ok_or("no stdout from Xvfb")?;
        let mut line = String::new();
        BufReader::new(out)
            .read_line(&mut line)
            .map_err(|e| format!("reading Xvfb's display: {e}"))?;
        let number = line.trim();
        if number.is_empty() || !number.chars().all(|c| c.is_ascii_digit()) {
            return Err(format!("Xvfb did not report a display (got {line:?})"));
        }
        Ok(Self {
            display: format!(":{number}"),
            _group: group,
        })
    }
}

/// tauri-driver on a free loopback port, with WebKitWebDriver on another.
struct TauriDriver {
    port: u16,
    _group: Group,
}

impl TauriDriver {
    fn start(display: &str, tmp: &Path) -> Result<Self> {
        let (port, native_port) = (free_port()?, free_port()?);
        let group = Group::spawn(
            "tauri-driver",
            Command::new("tauri-driver")
                .args([
                    "--port",
                    &port.to_string(),
                    "--native-port",
                    &native_port.to_string(),
                ])
                .env("DISPLAY", display)
                // The app writes its DuckDB output and WebKit its caches here, not in the repo
                // or the user's home.
                .env("WEIR_OUT_DIR", tmp.join("out"))
                .env("XDG_DATA_HOME", tmp.join("data"))
                .env("XDG_CACHE_HOME", tmp.join("cache"))
                .env("XDG_CONFIG_HOME", tmp.join("config"))
                .stdout(Stdio::null()),
        )?;
        let driver = Self {
            port,
            _group: group,
        };
        wait_for(
            "tauri-driver to answer /status",
            Duration::from_secs(30),
            || {
                Ok(agent()
                    .get(format!("http://127.0.0.1:{port}/status"))
                    .call()
                    .ok()
                    .map(|_| ()))
            },
        )?;
        Ok(driver)
    }
}

fn free_port() -> Result<u16> {
    let listener = TcpListener::bind("127.0.0.1:0").map_err(|e| format!("no free port: {e}"))?;
    listener
        .local_addr()
        .map(|a| a.port())
        .map_err(|e| e.to_string())
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .timeout_global(Some(Duration::from_secs(60)))
        .http_status_as_error(false)
        .proxy(None)
        .build()
        .into()
}

/// A WebDriver session with the app (tauri-driver starts it with the session).
struct Session {
    base: String,
    agent: ureq::Agent,
}

impl Session {
    fn new(port: u16) -> Result<Self> {
        let agent = agent();
        let app = PathBuf::from(env!("CARGO_BIN_EXE_weir-studio"));
        let caps = json!({"capabilities": {"alwaysMatch": {
            "browserName": "wry",
            "tauri:options": {"application": app},
        }}});
        let url = format!("http://127.0.0.1:{port}/session");
        let answer = send(&agent, "POST", &url, Some(caps))?;
        let id = answer["sessionId"]
            .as_str()
            .ok_or_else(|| format!("no sessionId in {answer}"))?;
        Ok(Self {
            base: format!("{url}/{id}"),
            agent,
        })
    }

    fn element(&self, css: &str) -> Result<String> {
        let found = send(
            &self.agent,
            "POST",
            &format!("{}/element", self.base),
            Some(json!({"using": "css selector", "value": css})),
        )?;
        found
            .as_object()
            .and_then(|o| o.values().next())
            .and_then(Value::as_str)
            .map(str::to_owned)
            .ok_or_else(|| format!("no element {css}: {found}"))
    }

    fn click(&self, css: &str) -> Result<()> {
        let id = self.element(css)?;
        send(
            &self.agent,
            "POST",
            &format!("{}/element/{id}/click", self.base),
            Some(json!({})),
        )?;
        Ok(())
    }

    /// Replaces an input's text the way a person would: clear it, then type.
    fn type_into(&self, css: &str, text: &str) -> Result<()> {
        let id = self.element(css)?;
        let url = format!("{}/element/{id}", self.base);
        send(
            &self.agent,
            "POST",
            &format!("{url}/clear"),
            Some(json!({})),
        )?;
        send(
            &self.agent,
            "POST",
            &format!("{url}/value"),
            Some(json!({ "text": text })),
        )?;
        Ok(())
    }

    /// Whether `#status` has the class of this state (`ok`, `error`, `running`, `idle`).
    fn status_is(&self, state: &str) -> Result<bool> {
        let class = self.script("return document.querySelector('#status')?.className ?? ''")?;
        Ok(class
            .as_str()
            .unwrap_or_default()
            .split(' ')
            .any(|c| c == state))
    }

    fn text(&self, css: &str) -> Result<String> {
        let id = self.element(css)?;
        let text = send(
            &self.agent,
            "GET",
            &format!("{}/element/{id}/text", self.base),
            None,
        )?;
        Ok(text.as_str().unwrap_or_default().to_owned())
    }

    fn script(&self, body: &str) -> Result<Value> {
        send(
            &self.agent,
            "POST",
            &format!("{}/execute/sync", self.base),
            Some(json!({"script": body, "args": []})),
        )
    }
}

impl Drop for Session {
    /// Ends the session, which closes the app (the process groups are ended after it).
    fn drop(&mut self) {
        let _ = send(&self.agent, "DELETE", &self.base, None);
    }
}

/// One WebDriver call; returns the answer's `value`, or the WebDriver error as a message.
fn send(agent: &ureq::Agent, method: &str, url: &str, body: Option<Value>) -> Result<Value> {
    let response = match (method, body) {
        ("GET", _) => agent.get(url).call(),
        ("DELETE", _) => agent.delete(url).call(),
        (_, Some(body)) => agent.post(url).send_json(body),
        (_, None) => agent.post(url).send_empty(),
    };
    let mut response = response.map_err(|e| format!("{method} {url}: {e}"))?;
    let status = response.status();
    let answer: Value = response
        .body_mut()
        .read_json()
        .map_err(|e| format!("{method} {url}: {e}"))?;
    if !status.is_success() {
        return Err(format!("{method} {url}: {status}: {}", answer["value"]));
    }
    Ok(answer["value"].clone())
}

//! The drawing page in real headless Chromium, driven through WebDriver (chromedriver): draw a
//! vertical stroke with pointer events, then check that the prediction the page shows is what
//! `/api/predict` returns for the 28×28 input the page shows. A screenshot is saved to
//! target/test-output/browser.png. Needs Debian's `chromium` and `chromium-driver` (.ci/run
//! installs them); without them the test skips, except under CI, where it fails.

use ffnn::nn::{Activation, Init, Model};
use rand::SeedableRng;
use serde_json::{Value, json};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

struct Driver {
    child: Child,
    base: String,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder().http_status_as_error(false).timeout_global(Some(Duration::from_secs(60))).build().into()
}

fn call(method: &str, url: &str, body: Option<Value>) -> Value {
    let mut response = match (method, body) {
        ("GET", _) => agent().get(url).call().unwrap(),
        ("DELETE", _) => agent().delete(url).call().unwrap(),
        (_, b) => agent()
            .post(url)
            .header("Content-Type", "application/json")
            .send(b.unwrap_or(json!({})).to_string().as_bytes())
            .unwrap(),
    };
    let text = response.body_mut().read_to_string().unwrap();
    serde_json::from_str(&text).unwrap_or_else(|_| panic!("WebDriver answered {text}"))
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn tools_present() -> bool {
    ["/usr/bin/chromium", "/usr/bin/chromedriver"].iter().all(|p| std::path::Path::new(p).exists())
}

#[test]
fn drawing_a_stroke_shows_the_prediction_of_the_shown_input() {
    if !tools_present() {
        assert!(std::env::var_os("CI").is_none(), "CI is set but chromium/chromedriver are missing");
        eprintln!("skipping: chromium and chromedriver are not installed");
        return;
    }
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(3);
    let model = Model::new(&[784, 64, 10], Activation::Relu, Init::He, &mut rng);
    let site = format!(
        "http://{}",
        ffnn_cli::serve::spawn(model.clone(), ffnn::data::Classes::numbered(model.classes(), "MNIST"), None, "127.0.0.1:0")
            .unwrap()
    );

    let port = free_port();
    let child = Command::new("/usr/bin/chromedriver")
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let driver = Driver { child, base: format!("http://127.0.0.1:{port}") };
    let started = Instant::now();
    while agent().get(&format!("{}/status", driver.base)).call().is_err() {
        assert!(started.elapsed() < Duration::from_secs(20), "chromedriver did not start");
        std::thread::sleep(Duration::from_millis(100));
    }
    let profile = tempfile::tempdir().unwrap();
    let args = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--window-size=1000,900",
    ];
    let mut chrome_args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
    chrome_args.push(format!("--user-data-dir={}", profile.path().display()));
    let session = call(
        "POST",
        &format!("{}/session", driver.base),
        Some(
            json!({"capabilities": {"alwaysMatch": {"browserName": "chrome", "goog:chromeOptions": {"binary": "/usr/bin/chromium", "args": chrome_args}}}}),
        ),
    );
    let id = session["value"]["sessionId"].as_str().unwrap_or_else(|| panic!("no session: {session}")).to_string();
    let s = format!("{}/session/{id}", driver.base);
    let script =
        |code: &str| call("POST", &format!("{s}/execute/sync"), Some(json!({"script": code, "args": []})))["value"].clone();

    call("POST", &format!("{s}/url"), Some(json!({ "url": format!("{site}/") })));
    let wait = |what: &str, check: &dyn Fn() -> bool| {
        let t = Instant::now();
        while !check() {
            assert!(t.elapsed() < Duration::from_secs(20), "timed out waiting for {what}");
            std::thread::sleep(Duration::from_millis(100));
        }
    };
    wait("the model card", &|| {
        script("return document.getElementById('card').textContent").as_str().is_some_and(|t| t.contains("784-64-10"))
    });

    // A vertical stroke down the middle of the pad, as pointer events.
    let pad = call("POST", &format!("{s}/element"), Some(json!({"using": "css selector", "value": "#pad"})));
    let element = pad["value"].as_object().unwrap().values().next().unwrap().clone();
    let mut steps = vec![
        json!({"type": "pointerMove", "duration": 0, "origin": {"element-6066-11e4-a52e-4f735466cecf": element}, "x": 0, "y": -90}),
    ];
    steps.push(json!({"type": "pointerDown", "button": 0}));
    for k in 1..=12 {
        steps.push(json!({"type": "pointerMove", "duration": 20, "origin": {"element-6066-11e4-a52e-4f735466cecf": element}, "x": 0, "y": -90 + 15 * k}));
    }
    steps.push(json!({"type": "pointerUp", "button": 0}));
    call(
        "POST",
        &format!("{s}/actions"),
        Some(json!({"actions": [{"type": "pointer", "id": "pen", "parameters": {"pointerType": "mouse"}, "actions": steps}]})),
    );

    // Wait until the page has settled: the same input and prediction twice in a row.
    let state = || script("return JSON.stringify([document.getElementById('prediction').dataset.class, window.ffnnInput])");
    let settle = Instant::now();
    let (shown, input): (String, Vec<f32>) = loop {
        assert!(settle.elapsed() < Duration::from_secs(20), "the page did not settle: {}", state());
        let a = state();
        std::thread::sleep(Duration::from_millis(300));
        if a == state() && a.as_str().is_some_and(|t| !t.starts_with("[\"\"")) {
            let v: Value = serde_json::from_str(a.as_str().unwrap()).unwrap();
            break (v[0].as_str().unwrap().to_string(), serde_json::from_value(v[1].clone()).unwrap());
        }
    };
    assert_eq!(input.len(), 784);
    // A vertical stroke: the ink sits in the middle columns, across many rows.
    let ink: f32 = input.iter().sum();
    let middle: f32 = (0..784).filter(|i| (10..18).contains(&(i % 28))).map(|i| input[i]).sum();
    assert!(ink > 10.0 && middle / ink > 0.9, "ink {ink}, middle share {}", middle / ink);
    let rows = (0..28).filter(|r| input[r * 28..(r + 1) * 28].iter().any(|&v| v > 0.5)).count();
    assert!(rows >= 15, "the stroke spans {rows} rows");

    // The page's prediction is the API's for the input the page shows.
    let mut r = agent()
        .post(&format!("{site}/api/predict"))
        .header("Content-Type", "application/json")
        .send(json!({ "pixels": input }).to_string().as_bytes())
        .unwrap();
    let api: Value = serde_json::from_str(&r.body_mut().read_to_string().unwrap()).unwrap();
    assert_eq!(shown, api["class"].to_string(), "page shows {shown}, /api/predict says {}", api["class"]);

    let shot = call("GET", &format!("{s}/screenshot"), None)["value"].as_str().unwrap().to_string();
    use base64::Engine;
    let png = base64::engine::general_purpose::STANDARD.decode(shot).unwrap();
    let out = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/test-output");
    std::fs::create_dir_all(&out).unwrap();
    std::fs::write(out.join("browser.png"), png).unwrap();
    call("DELETE", &s, None);
}

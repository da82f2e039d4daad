//! The drawing page in real headless Chromium, driven through WebDriver (chromedriver): draw a
//! vertical stroke with pointer events, then check that the prediction the page shows is what
//! `/api/predict` returns for the 28×28 input the page shows; the same for the one-file page of
//! `ffnn export --html`, opened from disk, whose probabilities (computed in the page) must be the
//! API's; and a Fashion-MNIST model's page: its title and class names, and an uploaded test
//! image taken as it is. Screenshots are saved to target/test-output/. Needs Debian's `chromium`
//! and `chromium-driver` (.ci/run installs them); without them the tests skip, except under CI,
//! where they fail.

mod common;

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

/// A headless Chromium session through chromedriver.
struct Browser {
    _driver: Driver,
    _profile: tempfile::TempDir,
    session: String,
}

impl Browser {
    /// A new browser, or `None` (the test skips) when Chromium is not installed outside CI.
    fn start() -> Option<Browser> {
        if !tools_present() {
            assert!(std::env::var_os("CI").is_none(), "CI is set but chromium/chromedriver are missing");
            eprintln!("skipping: chromium and chromedriver are not installed");
            return None;
        }
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
        let session = format!("{}/session/{id}", driver.base);
        Some(Browser { _driver: driver, _profile: profile, session })
    }

    fn open(&self, url: &str) {
        call("POST", &format!("{}/url", self.session), Some(json!({ "url": url })));
    }

    fn script(&self, code: &str) -> Value {
        call("POST", &format!("{}/execute/sync", self.session), Some(json!({"script": code, "args": []})))["value"].clone()
    }

    fn wait(&self, what: &str, check: &dyn Fn() -> bool) {
        let t = Instant::now();
        while !check() {
            assert!(t.elapsed() < Duration::from_secs(20), "timed out waiting for {what}");
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// The WebDriver reference of the element `css`.
    fn element(&self, css: &str) -> Value {
        let found = call("POST", &format!("{}/element", self.session), Some(json!({"using": "css selector", "value": css})));
        found["value"].as_object().unwrap().values().next().unwrap().clone()
    }

    /// A vertical stroke down the middle of the pad, as pointer events.
    fn draw_vertical_stroke(&self) {
        let element = self.element("#pad");
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
            &format!("{}/actions", self.session),
            Some(
                json!({"actions": [{"type": "pointer", "id": "pen", "parameters": {"pointerType": "mouse"}, "actions": steps}]}),
            ),
        );
    }

    /// Waits until the page has settled (the same input and prediction twice in a row) and
    /// returns the input it shows and its prediction.
    fn settled(&self) -> (Vec<f32>, Value) {
        let state = || self.script("return JSON.stringify([window.ffnnInput, window.ffnnPrediction || null])");
        let settle = Instant::now();
        loop {
            assert!(settle.elapsed() < Duration::from_secs(20), "the page did not settle: {}", state());
            let a = state();
            std::thread::sleep(Duration::from_millis(300));
            if a == state() && a.as_str().is_some_and(|t| !t.ends_with(",null]")) {
                let v: Value = serde_json::from_str(a.as_str().unwrap()).unwrap();
                break (serde_json::from_value(v[0].clone()).unwrap(), v[1].clone());
            }
        }
    }

    fn screenshot(&self, name: &str) {
        let shot = call("GET", &format!("{}/screenshot", self.session), None)["value"].as_str().unwrap().to_string();
        use base64::Engine;
        let png = base64::engine::general_purpose::STANDARD.decode(shot).unwrap();
        let out = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/test-output");
        std::fs::create_dir_all(&out).unwrap();
        std::fs::write(out.join(name), png).unwrap();
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = agent().delete(&self.session).call();
    }
}

/// What `/api/predict` of the server at `site` says for `pixels`.
fn api_predict(site: &str, pixels: &[f32]) -> Value {
    let mut r = agent()
        .post(&format!("{site}/api/predict"))
        .header("Content-Type", "application/json")
        .send(json!({ "pixels": pixels }).to_string().as_bytes())
        .unwrap();
    serde_json::from_str(&r.body_mut().read_to_string().unwrap()).unwrap()
}

/// The drawn input is a vertical stroke in the middle of the 28×28 image, centred as MNIST's.
fn assert_vertical_stroke(input: &[f32]) {
    assert_eq!(input.len(), 784);
    let ink: f32 = input.iter().sum();
    let middle: f32 = (0..784).filter(|i| (10..18).contains(&(i % 28))).map(|i| input[i]).sum();
    assert!(ink > 10.0 && middle / ink > 0.9, "ink {ink}, middle share {}", middle / ink);
    let rows = (0..28).filter(|r| input[r * 28..(r + 1) * 28].iter().any(|&v| v > 0.5)).count();
    assert!(rows >= 15, "the stroke spans {rows} rows");
}

fn digit_model() -> Model {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(3);
    Model::new(&[784, 64, 10], Activation::Relu, Init::He, &mut rng)
}

#[test]
fn drawing_a_stroke_shows_the_prediction_of_the_shown_input() {
    let Some(browser) = Browser::start() else { return };
    let model = digit_model();
    let classes = ffnn::data::Classes::numbered(10, "MNIST");
    let site = format!("http://{}", ffnn_cli::serve::spawn(model, classes, None, "127.0.0.1:0").unwrap());
    browser.open(&format!("{site}/"));
    browser.wait("the model card", &|| {
        browser.script("return document.getElementById('card').textContent").as_str().is_some_and(|t| t.contains("784-64-10"))
    });
    assert_eq!(browser.script("return document.getElementById('title').textContent"), "Draw a digit");
    browser.draw_vertical_stroke();
    let (input, shown) = browser.settled();
    assert_vertical_stroke(&input);
    assert_eq!(browser.script("return document.querySelector('input[name=mode]:checked').value"), "centre");
    // The page's prediction is the API's for the input the page shows.
    let api = api_predict(&site, &input);
    assert_eq!(shown["class"], api["class"], "page shows {shown}, /api/predict says {api}");
    browser.screenshot("browser.png");
}

#[test]
fn the_one_file_page_predicts_in_the_browser_what_the_api_does() {
    let Some(browser) = Browser::start() else { return };
    let model = digit_model();
    let classes = ffnn::data::Classes::numbered(10, "MNIST");
    let tmp = tempfile::tempdir().unwrap();
    let page = tmp.path().join("demo.html");
    std::fs::write(&page, ffnn_cli::serve::demo_page(&model, &classes, Some(0.9))).unwrap();
    browser.open(&format!("file://{}", page.display()));
    browser.wait("the model card", &|| {
        browser.script("return document.getElementById('card').textContent").as_str().is_some_and(|t| t.contains("784-64-10"))
    });
    browser.draw_vertical_stroke();
    let (input, shown) = browser.settled();
    assert_vertical_stroke(&input);
    // The same input through the server: the same probabilities, to 1e-5.
    let site = format!("http://{}", ffnn_cli::serve::spawn(model, classes, None, "127.0.0.1:0").unwrap());
    let api = api_predict(&site, &input);
    let (page_p, api_p) = (shown["probabilities"].as_array().unwrap(), api["probabilities"].as_array().unwrap());
    assert_eq!(page_p.len(), 10);
    for (a, b) in page_p.iter().zip(api_p) {
        assert!((a.as_f64().unwrap() - b.as_f64().unwrap()).abs() < 1e-5, "page {shown}, api {api}");
    }
    assert_eq!(shown["class"], api["class"]);
    // Nothing was fetched from anywhere: the page and its weights are one file.
    assert_eq!(browser.script("return performance.getEntriesByType('resource').length"), 0);
    browser.screenshot("demo-page.png");
}

#[test]
fn a_fashion_mnist_page_names_its_classes_and_takes_uploads_as_they_are() {
    let Some(fashion) = common::fashion_mnist_dir() else { return };
    let Some(browser) = Browser::start() else { return };
    // A real Fashion-MNIST model, briefly trained.
    let data = ffnn::data::load_dataset(&fashion).unwrap();
    let config = ffnn::train::TrainConfig {
        hidden: vec![64],
        optimizer: ffnn::optim::Optimizer::adam(),
        learning_rate: 2e-3,
        batch_size: 128,
        length: ffnn::train::Length::Iterations(300),
        init: Init::He,
        ..Default::default()
    };
    let model = ffnn::train::train_model(&data.train, None, &config, &mut |_| {}).unwrap().model;
    let site =
        format!("http://{}", ffnn_cli::serve::spawn(model.clone(), data.class_names.clone(), None, "127.0.0.1:0").unwrap());
    browser.open(&format!("{site}/"));
    browser.wait("the model card", &|| {
        browser.script("return document.getElementById('card').textContent").as_str().is_some_and(|t| t.contains("Ankle boot"))
    });
    assert_eq!(browser.script("return document.getElementById('title').textContent"), "Fashion-MNIST: draw or upload an image");
    // A test image (a sneaker, label 7), uploaded as a PNG file.
    let index = data.test.labels.iter().position(|&l| l == 7).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let png = tmp.path().join("sneaker.png");
    std::fs::write(&png, ffnn::data::image::encode_png(28, 28, 1, data.test.image(index))).unwrap();
    let upload = browser.element("#upload");
    let id = upload.as_str().unwrap();
    call(
        "POST",
        &format!("{}/element/{id}/value", browser.session),
        Some(json!({"text": png.display().to_string(), "value": [png.display().to_string()]})),
    );
    let (input, shown) = browser.settled();
    assert_eq!(browser.script("return document.querySelector('input[name=mode]:checked').value"), "as-is");
    // Taken as it is: the model sees the image's own pixels.
    for (got, &byte) in input.iter().zip(data.test.image(index)) {
        assert!((got - byte as f32 / 255.0).abs() <= 1.0 / 255.0, "{got} vs {byte}");
    }
    let api = api_predict(&site, &input);
    assert_eq!(shown["class"], api["class"]);
    assert_eq!(shown["name"], api["name"]);
    let bars = browser.script("return document.getElementById('bars').textContent").as_str().unwrap().to_string();
    assert!(bars.contains("7 Sneaker") && bars.contains("0 T-shirt/top"), "{bars}");
    browser.screenshot("fashion-page.png");
}

//! The JSON API of `ffnn serve`, on a real server on loopback: every success and error case.

use ffnn::data::image::encode_png;
use ffnn::nn::{Activation, Init, Model, predict};
use ffnn::tensor::Matrix;
use rand::SeedableRng;
use serde_json::Value;

fn server() -> (String, Model) {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(4);
    let model = Model::new(&[784, 32, 10], Activation::Relu, Init::He, &mut rng);
    let addr =
        ffnn_cli::serve::spawn(model.clone(), ffnn::data::Classes::numbered(model.classes(), "MNIST"), Some(0.97), "127.0.0.1:0")
            .unwrap();
    (format!("http://{addr}"), model)
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder().http_status_as_error(false).build().into()
}

/// (status, body as JSON or text)
fn post(url: &str, content_type: &str, body: &[u8]) -> (u16, String) {
    let mut r = agent().post(url).header("Content-Type", content_type).send(body).unwrap();
    (r.status().as_u16(), r.body_mut().read_to_string().unwrap())
}

fn pixels() -> Vec<f32> {
    (0..784).map(|i| if (i / 28) % 7 == 3 { 0.9 } else { (i % 5) as f32 / 10.0 }).collect()
}

#[test]
fn page_and_model_card() {
    let (base, _) = server();
    let mut r = agent().get(&format!("{base}/")).call().unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let page = r.body_mut().read_to_string().unwrap();
    assert!(page.contains("<canvas id=\"pad\"") && page.contains("/api/predict"));
    assert!(!page.contains("http:") && !page.contains("https:"), "no CDN, no other host");
    let mut r = agent().get(&format!("{base}/api/model")).call().unwrap();
    let card: Value = serde_json::from_str(&r.body_mut().read_to_string().unwrap()).unwrap();
    assert_eq!(card["architecture"], "784-32-10 relu");
    assert_eq!(card["input_shape"], serde_json::json!([28, 28]));
    assert!((card["test_accuracy"].as_f64().unwrap() - 0.97).abs() < 1e-6);
    assert!(card["weights_png"].as_str().unwrap().starts_with("data:image/png;base64,"));
}

#[test]
fn predictions_from_json_and_png_match_the_library() {
    let (base, model) = server();
    let px = pixels();
    let (expected, _) = predict(&model, &Matrix::from_vec(1, 784, px.clone()), None);
    let body = serde_json::json!({ "pixels": px }).to_string();
    let (status, text) = post(&format!("{base}/api/predict"), "application/json", body.as_bytes());
    assert_eq!(status, 200, "{text}");
    let v: Value = serde_json::from_str(&text).unwrap();
    let probs: Vec<f32> = serde_json::from_value(v["probabilities"].clone()).unwrap();
    assert_eq!(probs, expected.row(0));
    assert_eq!(v["class"], ffnn::tensor::argmax(expected.row(0)) as u64);

    // The same image as an 8-bit PNG: the same class, probabilities within rounding.
    let bytes: Vec<u8> = px.iter().map(|&p| (p * 255.0).round() as u8).collect();
    let (status, text) = post(&format!("{base}/api/predict"), "image/png", &encode_png(28, 28, 1, &bytes));
    assert_eq!(status, 200, "{text}");
    let v: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v["class"], ffnn::tensor::argmax(expected.row(0)) as u64);
}

#[test]
fn every_bad_request_gets_a_4xx_with_a_json_error() {
    let (base, _) = server();
    let url = format!("{base}/api/predict");
    let mut out_of_range = pixels();
    out_of_range[17] = 2.0;
    let cases: Vec<(&str, Vec<u8>, u16, &str)> = vec![
        ("application/json", b"{not json".to_vec(), 400, "the body is not valid JSON"),
        ("application/json", b"{\"x\": 1}".to_vec(), 400, "expected {\"pixels\": [numbers]} or a PNG body"),
        ("application/json", b"{\"pixels\": [0.5, 0.5]}".to_vec(), 422, "2 pixels, the model takes 784 (28×28)"),
        (
            "application/json",
            serde_json::json!({ "pixels": out_of_range }).to_string().into_bytes(),
            422,
            "pixel 17 is 2.0: expected a number in [0, 1]",
        ),
        (
            "application/json",
            format!("{{\"pixels\": [\"NaN\"{}]}}", ",0".repeat(783)).into_bytes(),
            422,
            "pixel 0 is \"NaN\": expected a number in [0, 1]",
        ),
        ("image/png", encode_png(20, 20, 1, &[0; 400]), 422, "the image is 20×20 but the model takes 28×28 images"),
        ("image/png", b"\x89PNG garbage".to_vec(), 400, "not a PNG image"),
        ("application/json", vec![b' '; 1_048_577], 413, "the body is over 1048576 bytes"),
    ];
    for (content_type, body, status, message) in cases {
        let (got, text) = post(&url, content_type, &body);
        assert_eq!(got, status, "{message}: {text}");
        let v: Value = serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON: {text}"));
        assert!(v["error"].as_str().unwrap().starts_with(message), "{text}");
    }
    // The server is still up.
    let (status, _) = post(&url, "application/json", serde_json::json!({ "pixels": pixels() }).to_string().as_bytes());
    assert_eq!(status, 200);
}

#[test]
fn huge_images_are_refused_from_their_header_before_decoding() {
    let (base, _) = server();
    // 8000×8000 pixels at 1 bit each, all black: 8 MB of pixels that compress to a few KB, and
    // 64 MB once decoded to a byte per pixel.
    let mut png = Vec::new();
    {
        let mut encoder = png::Encoder::new(&mut png, 8000, 8000);
        encoder.set_color(png::ColorType::Grayscale);
        encoder.set_depth(png::BitDepth::One);
        let mut writer = encoder.write_header().unwrap();
        writer.write_image_data(&vec![0u8; 1000 * 8000]).unwrap();
    }
    assert!(png.len() < 100_000, "{} bytes", png.len());
    let peak_rss_mb = || ffnn_cli::run_files::peak_rss_mb().expect("the kernel reports VmHWM");
    let before = peak_rss_mb();
    let url = format!("{base}/api/predict");
    std::thread::scope(|s| {
        for _ in 0..8 {
            s.spawn(|| {
                let (status, text) = post(&url, "image/png", &png);
                assert_eq!(status, 413, "{text}");
                let v: Value = serde_json::from_str(&text).unwrap();
                assert_eq!(v["error"], "the image is 8000×8000 pixels; images up to 4096×4096 are accepted");
            });
        }
    });
    let grown = peak_rss_mb() - before;
    assert!(grown < 32.0, "8 requests raised the peak memory by {grown:.0} MB: the images were decoded");
}

/// A server with 1-second header and request timeouts and at most `max_connections` open.
fn server_with_limits(max_connections: usize) -> std::net::SocketAddr {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(4);
    let model = Model::new(&[784, 32, 10], Activation::Relu, Init::He, &mut rng);
    let second = std::time::Duration::from_secs(1);
    let limits = ffnn_cli::serve::Limits { header_timeout: second, request_timeout: second, max_connections };
    ffnn_cli::serve::spawn_router_with(
        ffnn_cli::serve::router(model.clone(), ffnn::data::Classes::numbered(model.classes(), "MNIST"), None),
        "127.0.0.1:0",
        limits,
    )
    .unwrap()
}

#[test]
fn slow_clients_are_timed_out_and_cannot_hold_the_server() {
    use std::io::{Read, Write};
    use std::time::{Duration, Instant};
    let addr = server_with_limits(1000);
    // 300 slow clients: 200 send half a header, 100 the headers and a tenth of the body.
    let opened = Instant::now();
    let mut slow: Vec<std::net::TcpStream> = (0..300)
        .map(|i| {
            let mut s = std::net::TcpStream::connect(addr).unwrap();
            let start: &[u8] = if i % 3 == 0 {
                b"POST /api/predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 5000\r\n\r\n{\"pixels\": ["
            } else {
                b"POST /api/predict HTTP/1.1\r\nHost: x\r\nContent-Ty"
            };
            s.write_all(start).unwrap();
            s
        })
        .collect();
    // A normal request is answered at once all the same.
    let asked = Instant::now();
    let body = serde_json::json!({ "pixels": pixels() }).to_string();
    let (status, _) = post(&format!("http://{addr}/api/predict"), "application/json", body.as_bytes());
    let took = asked.elapsed();
    assert_eq!(status, 200);
    assert!(took < Duration::from_secs(1), "a normal request took {took:?} beside 300 slow ones");
    // After the timeouts every slow connection has been closed by the server (a slow body gets
    // its 408 first).
    for (i, s) in slow.iter_mut().enumerate() {
        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let mut answer = Vec::new();
        match s.read_to_end(&mut answer) {
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => {}
            Err(e) => panic!("slow connection {i} still open after {:?}: {e}", opened.elapsed()),
        }
        let answer = String::from_utf8_lossy(&answer);
        if i % 3 == 0 {
            assert!(answer.starts_with("HTTP/1.1 408"), "slow body {i}: {answer:?}");
        }
    }
    assert!(opened.elapsed() < Duration::from_secs(4), "closed after {:?}", opened.elapsed());
}

#[test]
fn connections_over_the_cap_wait_for_a_free_one() {
    use std::time::{Duration, Instant};
    let addr = server_with_limits(4);
    // Four idle connections take every place; a fifth client waits until the header timeout
    // frees one, and is then served.
    let idle: Vec<_> = (0..4).map(|_| std::net::TcpStream::connect(addr).unwrap()).collect();
    std::thread::sleep(Duration::from_millis(100));
    let asked = Instant::now();
    let body = serde_json::json!({ "pixels": pixels() }).to_string();
    let (status, _) = post(&format!("http://{addr}/api/predict"), "application/json", body.as_bytes());
    let waited = asked.elapsed();
    assert_eq!(status, 200);
    assert!(waited > Duration::from_millis(500) && waited < Duration::from_secs(3), "waited {waited:?}");
    drop(idle);
}

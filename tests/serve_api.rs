//! The JSON API of `ffnn serve`, on a real server on loopback: every success and error case.

use ffnn::data::image::encode_png;
use ffnn::nn::{Activation, Init, Model, predict};
use ffnn::tensor::Matrix;
use rand::SeedableRng;
use serde_json::Value;

fn server() -> (String, Model) {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(4);
    let model = Model::new(&[784, 32, 10], Activation::Relu, Init::He, &mut rng);
    let addr = ffnn::serve::spawn(model.clone(), Some(0.97), "127.0.0.1:0").unwrap();
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

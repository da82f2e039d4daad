//! `ffnn serve`: a web page to draw on or upload images to a trained model, and the JSON API
//! behind it. The page takes its title and wording from the model's classes: a digit model
//! ("Draw a digit") crops and centres what is drawn as MNIST's digits were; uploads are taken
//! as they are (resized to the model's input, in gray), and the page says which it did.
//!
//! | route | what |
//! |---|---|
//! | `GET /` | the page (plain HTML/JS/CSS, embedded in the binary, no build step, no CDN) |
//! | `GET /api/model` | the model card: architecture, input size, test accuracy, weight images |
//! | `POST /api/predict` | `{"pixels": [h·w numbers in 0..1]}` or a PNG body → `{"class": k, "name": "…", "probabilities": […]}` |
//!
//! Bad requests get a 4xx status with `{"error": "…"}`: malformed JSON, a wrong number of
//! pixels, values that are not finite or outside [0, 1], a PNG of the wrong size or larger than
//! 4096×4096 (refused from its header, before decoding), a body over 1 MB, a request not read
//! within 30 s (408). Slow clients cannot hold the server: see [`Limits`].

use axum::Router;
use axum::body::{Body, to_bytes};
use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Json, Response};
use axum::routing::{get, post};
use base64::Engine;
use ffnn::data::Classes;
use ffnn::data::image::{decode_gray_png, encode_png, png_size};
use ffnn::nn::{Model, predict};
use ffnn::tensor::Matrix;
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Duration;

/// The page, embedded at build time.
pub const INDEX_HTML: &str = include_str!("index.html");

/// The largest request body accepted.
pub const MAX_BODY: usize = 1 << 20;

/// The largest image accepted, per side: larger images are refused from their header, before
/// decoding.
pub const MAX_IMAGE_SIDE: usize = 4096;

/// What the handlers share: the model, its classes and its card.
pub struct AppState {
    pub model: Model,
    pub classes: Classes,
    pub card: Value,
}

/// The model card: architecture, input shape, classes (their number and names, the dataset's
/// name, whether they are digits), test accuracy (when the file records it), and the
/// first-layer weight images as a PNG data URI.
pub fn model_card(model: &Model, classes: &Classes, test_accuracy: Option<f32>) -> Value {
    let (w, h, rgb) = crate::plot::weight_image(model, 64);
    let png = encode_png(w, h, 3, &rgb);
    json!({
        "architecture": model.describe(),
        "sizes": model.sizes(),
        "activation": model.activation.name(),
        "input_shape": [model.input_shape.0, model.input_shape.1],
        "classes": model.classes(),
        "class_names": (0..model.classes()).map(|c| classes.name(c)).collect::<Vec<_>>(),
        "dataset": classes.dataset,
        "digits": classes.are_digits(),
        "parameters": model.parameter_count(),
        "test_accuracy": test_accuracy,
        "weights_png": format!("data:image/png;base64,{}", base64::engine::general_purpose::STANDARD.encode(png)),
    })
}

/// The page with `model` inside it, for `ffnn export --html`: one self-contained file that works
/// opened from disk, with no server. The page is [`INDEX_HTML`] itself (the same canvas, upload
/// and preprocessing); a script before its own sets `window.FFNN_MODEL` to the model card and
/// each layer's `W` and `b` (base64 of little-endian `f32`), and the page then computes its
/// predictions in JavaScript instead of asking `/api/predict`.
pub fn demo_page(model: &Model, classes: &Classes, test_accuracy: Option<f32>) -> String {
    let b64 = |values: &[f32]| {
        let bytes: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
        base64::engine::general_purpose::STANDARD.encode(bytes)
    };
    let layers: Vec<Value> = model
        .layers
        .iter()
        .map(|l| json!({ "rows": l.weight.rows, "cols": l.weight.cols, "w": b64(&l.weight.data), "b": b64(&l.bias) }))
        .collect();
    let embedded = json!({ "card": model_card(model, classes, test_accuracy), "layers": layers });
    // `<` escaped inside the JSON, so no class name can close the script element.
    let script = format!("<script>window.FFNN_MODEL = {};</script>\n<script>", embedded.to_string().replace('<', "\\u003c"));
    INDEX_HTML.replacen("<script>", &script, 1)
}

/// The router serving `model`, whose classes are `classes`.
pub fn router(model: Model, classes: Classes, test_accuracy: Option<f32>) -> Router {
    let card = model_card(&model, &classes, test_accuracy);
    let state = Arc::new(AppState { model, classes, card });
    Router::new()
        .route("/", get(|| async { Html(INDEX_HTML) }))
        .route("/api/model", get(|State(s): State<Arc<AppState>>| async move { Json(s.card.clone()) }))
        .route("/api/predict", post(predict_handler))
        .with_state(state)
}

fn error(status: StatusCode, message: impl Into<String>) -> Response {
    (status, Json(json!({ "error": message.into() }))).into_response()
}

/// A refused request: its status and message.
type Refusal = (StatusCode, String);

/// Reads the request's pixels: a PNG body, or JSON `{"pixels": [...]}`.
fn pixels_of(content_type: &str, body: &[u8], model: &Model) -> Result<Vec<f32>, Refusal> {
    let (h, w) = model.input_shape;
    if content_type.starts_with("image/png") || body.starts_with(b"\x89PNG") {
        // The header says how large the image is: a small file can hold a huge image (an
        // 8000×8000 1-bit PNG is 8 KB), so sizes are checked before anything is decoded.
        let (width, height) = png_size(body).map_err(|e| (StatusCode::BAD_REQUEST, e.to_string()))?;
        if width > MAX_IMAGE_SIDE || height > MAX_IMAGE_SIDE {
            return Err((
                StatusCode::PAYLOAD_TOO_LARGE,
                format!("the image is {width}×{height} pixels; images up to {MAX_IMAGE_SIDE}×{MAX_IMAGE_SIDE} are accepted"),
            ));
        }
        if (width, height) != (w, h) {
            return Err((
                StatusCode::UNPROCESSABLE_ENTITY,
                format!("the image is {width}×{height} but the model takes {w}×{h} images"),
            ));
        }
        let img = decode_gray_png(body).map_err(|e| (StatusCode::BAD_REQUEST, e.to_string()))?;
        return Ok(img.pixels.iter().map(|&p| p as f32 / 255.0).collect());
    }
    let value: Value =
        serde_json::from_slice(body).map_err(|e| (StatusCode::BAD_REQUEST, format!("the body is not valid JSON ({e})")))?;
    let array = value
        .get("pixels")
        .and_then(Value::as_array)
        .ok_or_else(|| (StatusCode::BAD_REQUEST, "expected {\"pixels\": [numbers]} or a PNG body".to_string()))?;
    if array.len() != model.inputs() {
        return Err((
            StatusCode::UNPROCESSABLE_ENTITY,
            format!("{} pixels, the model takes {} ({h}×{w})", array.len(), model.inputs()),
        ));
    }
    array
        .iter()
        .enumerate()
        .map(|(i, v)| match v.as_f64() {
            Some(x) if x.is_finite() && (0.0..=1.0).contains(&x) => Ok(x as f32),
            _ => Err((StatusCode::UNPROCESSABLE_ENTITY, format!("pixel {i} is {v}: expected a number in [0, 1]"))),
        })
        .collect()
}

async fn predict_handler(State(s): State<Arc<AppState>>, request: Request<Body>) -> Response {
    let content_type =
        request.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("").to_ascii_lowercase();
    let body = match to_bytes(request.into_body(), MAX_BODY).await {
        Ok(b) => b,
        Err(_) => return error(StatusCode::PAYLOAD_TOO_LARGE, format!("the body is over {MAX_BODY} bytes")),
    };
    let pixels = match pixels_of(&content_type, &body, &s.model) {
        Ok(p) => p,
        Err((status, message)) => return error(status, message),
    };
    let x = Matrix::from_vec(1, pixels.len(), pixels);
    let (p, _) = predict(&s.model, &x, None);
    let probabilities = p.row(0).to_vec();
    let class = ffnn::tensor::argmax(&probabilities);
    Json(json!({ "class": class, "name": s.classes.name(class), "probabilities": probabilities })).into_response()
}

/// What `ffnn train --serve` shows while it trains: the progress and the history so far.
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct Live {
    pub iteration: usize,
    pub total_iterations: usize,
    pub epoch: usize,
    /// The current mini-batch's loss and accuracy.
    pub loss: f32,
    pub accuracy: f32,
    pub history: Vec<ffnn::train::HistoryRow>,
    /// Set once the user asked to stop.
    pub stopping: bool,
    pub finished: bool,
}

/// The page shown while training.
pub const TRAIN_HTML: &str = include_str!("train.html");

/// The router of `ffnn train --serve`: the live page, `GET /api/progress` (the [`Live`] state)
/// and `POST /api/stop`, which sets `stop` so that training stops cleanly after its current
/// step (checkpoint, history and report written, as with Ctrl-C).
pub fn training_router(live: Arc<std::sync::Mutex<Live>>, stop: &'static std::sync::atomic::AtomicBool) -> Router {
    let progress = live.clone();
    Router::new()
        .route("/", get(|| async { Html(TRAIN_HTML) }))
        .route("/api/progress", get(move || async move { Json(progress.lock().unwrap().clone()) }))
        .route(
            "/api/stop",
            post(move || async move {
                stop.store(true, std::sync::atomic::Ordering::SeqCst);
                live.lock().unwrap().stopping = true;
                Json(json!({ "stopping": true }))
            }),
        )
}

/// How long and how many: what keeps a server answering when clients are slow or many.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Limits {
    /// A client must send a request's headers within this time (also the most a kept-alive
    /// connection may sit idle between requests); else the connection is closed.
    pub header_timeout: Duration,
    /// A request, its body included, must be read and answered within this time; else it gets
    /// `408 Request Timeout` and the connection is closed.
    pub request_timeout: Duration,
    /// Connections open at once; further clients wait to be accepted until one closes. Kept
    /// under the process's file-descriptor limit, so the server never runs out of them.
    pub max_connections: usize,
}

impl Default for Limits {
    /// 10 s for headers, 30 s for a whole request, up to 1000 connections (fewer when the
    /// process may open fewer than 1064 files).
    fn default() -> Self {
        Limits {
            header_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(30),
            max_connections: connection_cap(1000),
        }
    }
}

/// `wanted`, or fewer when the file-descriptor limit is low: a connection is one descriptor,
/// and the process keeps 64 for everything else.
fn connection_cap(wanted: usize) -> usize {
    #[cfg(unix)]
    {
        let mut limit = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
        // SAFETY: `getrlimit` writes one `rlimit` through a pointer to a live local.
        if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } == 0 {
            return wanted.min((limit.rlim_cur as usize).saturating_sub(64)).max(1);
        }
    }
    wanted
}

/// Serves `router` on `listener` with the default [`Limits`] until the process ends.
pub async fn serve(listener: tokio::net::TcpListener, router: Router) -> std::io::Result<()> {
    serve_with(listener, router, Limits::default()).await
}

/// Serves `router` on `listener` until the process ends, within `limits`: hyper's
/// `header_read_timeout` for slow or idle headers, tower-http's `TimeoutLayer` for slow
/// bodies and handlers, and a semaphore permit per open connection.
pub async fn serve_with(listener: tokio::net::TcpListener, router: Router, limits: Limits) -> std::io::Result<()> {
    use hyper_util::rt::{TokioIo, TokioTimer};
    let router =
        router.layer(tower_http::timeout::TimeoutLayer::with_status_code(StatusCode::REQUEST_TIMEOUT, limits.request_timeout));
    let permits = Arc::new(tokio::sync::Semaphore::new(limits.max_connections));
    loop {
        let permit = permits.clone().acquire_owned().await.expect("the semaphore is never closed");
        let stream = match listener.accept().await {
            Ok((stream, _)) => stream,
            // Out of descriptors or a connection reset before it was accepted: try again shortly.
            Err(_) => {
                tokio::time::sleep(Duration::from_millis(20)).await;
                continue;
            }
        };
        let service = hyper_util::service::TowerToHyperService::new(router.clone());
        tokio::spawn(async move {
            let connection = hyper::server::conn::http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(limits.header_timeout)
                .serve_connection(TokioIo::new(stream), service);
            let _ = connection.await;
            drop(permit);
        });
    }
}

/// Starts a server for `model` (with `classes`) on `addr` in a background thread with its own
/// runtime and returns the address it listens on (port 0 picks a free one).
pub fn spawn(model: Model, classes: Classes, test_accuracy: Option<f32>, addr: &str) -> std::io::Result<std::net::SocketAddr> {
    spawn_router(router(model, classes, test_accuracy), addr)
}

/// Serves `router` on `addr` from a background thread with its own runtime; returns the address.
pub fn spawn_router(router: Router, addr: &str) -> std::io::Result<std::net::SocketAddr> {
    spawn_router_with(router, addr, Limits::default())
}

/// [`spawn_router`] within `limits`.
pub fn spawn_router_with(router: Router, addr: &str, limits: Limits) -> std::io::Result<std::net::SocketAddr> {
    let listener = std::net::TcpListener::bind(addr)?;
    listener.set_nonblocking(true)?;
    let local = listener.local_addr()?;
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
    std::thread::Builder::new().name("ffnn-serve".into()).spawn(move || {
        runtime.block_on(async move {
            let listener = tokio::net::TcpListener::from_std(listener).expect("a listening socket");
            let _ = serve_with(listener, router, limits).await;
        })
    })?;
    Ok(local)
}

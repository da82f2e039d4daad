//! SGD, momentum, Adam and AdamW against PyTorch's `torch.optim`: six steps with non-zero
//! gradients on a 2×3 weight and a bias of 3, from values `scripts/torch_optim_fixture.py`
//! recorded with PyTorch (tests/fixtures/torch_optim.json), to 1e-6.

use ffnn::nn::{Activation, Gradients, Layer, Model};
use ffnn::optim::{Optimizer, OptimizerState, update_parameters};
use ffnn::tensor::Matrix;
use serde_json::Value;

fn floats(v: &Value) -> Vec<f32> {
    match v {
        Value::Array(items) => items.iter().flat_map(floats).collect(),
        v => vec![v.as_f64().unwrap() as f32],
    }
}

#[test]
fn every_optimizer_matches_torch_optim_over_six_steps() {
    let fixture: Value = serde_json::from_str(include_str!("fixtures/torch_optim.json")).unwrap();
    let model = Model {
        layers: vec![Layer { weight: Matrix::from_vec(2, 3, floats(&fixture["weight"])), bias: floats(&fixture["bias"]) }],
        activation: Activation::Relu,
        input_shape: (1, 2),
    };
    let steps = fixture["grads"].as_array().unwrap();
    assert_eq!(steps.len(), 6);
    for name in ["sgd", "momentum", "adam", "adamw"] {
        let c = &fixture[name];
        let optimizer = match name {
            "sgd" => Optimizer::Sgd,
            "momentum" => Optimizer::Momentum { momentum: c["momentum"].as_f64().unwrap() as f32 },
            _ => {
                let betas = floats(&c["betas"]);
                Optimizer::Adam { beta1: betas[0], beta2: betas[1], eps: c["eps"].as_f64().unwrap() as f32 }
            }
        };
        let mut ours = model.clone();
        let mut state = OptimizerState::new(optimizer, c["lr"].as_f64().unwrap() as f32, &ours);
        state.weight_decay = c["weight_decay"].as_f64().unwrap() as f32;
        let mut grads = Gradients::for_model(&ours);
        for (step, (g, after)) in steps.iter().zip(c["after"].as_array().unwrap()).enumerate() {
            grads.layers[0].weight.data = floats(&g[0]);
            grads.layers[0].bias = floats(&g[1]);
            update_parameters(&mut ours, &grads, &mut state);
            let expected = [floats(&after[0]), floats(&after[1])];
            let got = [&ours.layers[0].weight.data, &ours.layers[0].bias];
            for (e, g) in expected.iter().zip(got) {
                for (i, (e, g)) in e.iter().zip(g).enumerate() {
                    assert!((e - g).abs() <= 1e-6, "{name}, step {}, value {i}: torch {e}, ffnn {g}", step + 1);
                }
            }
        }
    }
}

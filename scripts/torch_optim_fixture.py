"""Writes tests/fixtures/torch_optim.json: what torch.optim does to a 2×3 weight and a bias of 3
over 6 steps with fixed non-zero gradients, for SGD, SGD with momentum, Adam and AdamW
(weight decay on the weight only, as ffnn decays weights and not biases).

Run once with PyTorch installed (see ../shared/anchors/README.md):
    ~/.venvs/anchors/bin/python scripts/torch_optim_fixture.py
tests/optimizers.rs replays the same steps with ffnn's update_parameters and compares to 1e-6.
"""
import json
import pathlib

import torch

torch.manual_seed(0)
STEPS = 6
w0 = torch.randn(2, 3)
b0 = torch.randn(3)
grads = [(torch.randn(2, 3), torch.randn(3)) for _ in range(STEPS)]

CONFIGS = {
    "sgd": dict(kind=torch.optim.SGD, lr=0.1, kwargs={}),
    "momentum": dict(kind=torch.optim.SGD, lr=0.05, kwargs=dict(momentum=0.9)),
    "adam": dict(kind=torch.optim.Adam, lr=0.01, kwargs=dict(betas=(0.9, 0.999), eps=1e-8)),
    "adamw": dict(kind=torch.optim.AdamW, lr=0.01, kwargs=dict(betas=(0.9, 0.999), eps=1e-8), decay=0.1),
}

out = {"weight": w0.tolist(), "bias": b0.tolist(), "grads": [[g.tolist(), h.tolist()] for g, h in grads], "torch": torch.__version__}
for name, c in CONFIGS.items():
    w = w0.clone().requires_grad_(True)
    b = b0.clone().requires_grad_(True)
    decay = c.get("decay", 0.0)
    groups = [{"params": [w], "weight_decay": decay}, {"params": [b], "weight_decay": 0.0}]
    opt = c["kind"](groups, lr=c["lr"], **c["kwargs"])
    after = []
    for gw, gb in grads:
        w.grad = gw.clone()
        b.grad = gb.clone()
        opt.step()
        after.append([w.detach().tolist(), b.detach().tolist()])
    out[name] = {"lr": c["lr"], "weight_decay": decay, **{k: v for k, v in c["kwargs"].items()}, "after": after}

path = pathlib.Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "torch_optim.json"
path.write_text(json.dumps(out, indent=1) + "\n")
print(f"wrote {path}")

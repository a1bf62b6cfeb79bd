#!/usr/bin/python3
"""Train the bundled Fashion-MNIST example model and export it to ONNX.

Reads the IDX files of Debian's dataset-fashion-mnist package, trains a small
CNN on images scaled to [0, 1] (x / 255, no normalisation), and writes, next
to this script:

  model.onnx           the trained network (opset 13, input "image" of shape
                       [N, 1, 28, 28], output "logits" of shape [N, 10],
                       dynamic batch axis)
  logits_first100.npy  float32 [100, 10] logits of the first 100 test images,
                       computed by PyTorch in eval mode: the reference that
                       nnheat's `run` is tested against

Usage: /usr/bin/python3 examples/fashion_mnist/train.py [--epochs N] [--batch B] [--lr LR]
(defaults 8, 32, 1e-3 made the committed model)
"""

import argparse
import gzip
import os
import struct
import time

import numpy as np
import onnx
import torch
import torch.nn as nn
import torch.nn.functional as F

DATA_DIR = "/usr/share/datasets/fashion-mnist"
OUT_DIR = os.path.dirname(os.path.abspath(__file__))
SEED = 20231204

CLASSES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
           "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]


def read_idx(path):
    """Read a gzipped IDX file (unsigned byte data) into a numpy array."""
    with gzip.open(path, "rb") as f:
        data = f.read()
    zero, dtype, ndim = struct.unpack(">HBB", data[:4])
    if zero != 0 or dtype != 0x08:
        raise ValueError("%s: not an unsigned-byte IDX file" % path)
    dims = struct.unpack(">" + "I" * ndim, data[4:4 + 4 * ndim])
    arr = np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim)
    if arr.size != int(np.prod(dims)):
        raise ValueError("%s: size mismatch" % path)
    return arr.reshape(dims)


def load_split(name):
    images = read_idx(os.path.join(DATA_DIR, "%s-images-idx3-ubyte.gz" % name))
    labels = read_idx(os.path.join(DATA_DIR, "%s-labels-idx1-ubyte.gz" % name))
    # [N, 28, 28] uint8 -> [N, 1, 28, 28] float32 in [0, 1]
    x = images.astype(np.float32)[:, None, :, :] / np.float32(255.0)
    y = labels.astype(np.int64)
    return x, y


class SmallCNN(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 8, 3, padding=1)
        self.conv2 = nn.Conv2d(8, 16, 3, padding=1)
        self.fc1 = nn.Linear(16 * 7 * 7, 32)
        self.fc2 = nn.Linear(32, 10)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)   # [N, 8, 14, 14]
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)   # [N, 16, 7, 7]
        x = x.view(x.size(0), -1)                    # [N, 784]
        x = F.relu(self.fc1(x))                      # [N, 32]
        return self.fc2(x)                           # [N, 10]


def evaluate(model, x, y, batch=1000):
    model.eval()
    correct = 0
    with torch.no_grad():
        for i in range(0, len(x), batch):
            out = model(torch.from_numpy(x[i:i + batch]))
            correct += int((out.argmax(1).numpy() == y[i:i + batch]).sum())
    return correct / len(x)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--epochs", type=int, default=8)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--lr", type=float, default=1e-3)
    args = ap.parse_args()

    torch.manual_seed(SEED)
    np.random.seed(SEED)
    torch.use_deterministic_algorithms(True)
    torch.set_num_threads(2)

    x_train, y_train = load_split("train")
    x_test, y_test = load_split("t10k")
    print("train %s, test %s" % (x_train.shape, x_test.shape))

    model = SmallCNN()
    nparams = sum(p.numel() for p in model.parameters())
    print("parameters: %d" % nparams)
    opt = torch.optim.Adam(model.parameters(), lr=args.lr)

    xt = torch.from_numpy(x_train)
    yt = torch.from_numpy(y_train)
    t0 = time.time()
    for epoch in range(args.epochs):
        model.train()
        perm = torch.from_numpy(np.random.permutation(len(xt)))
        total = 0.0
        for i in range(0, len(perm), args.batch):
            idx = perm[i:i + args.batch]
            opt.zero_grad()
            loss = F.cross_entropy(model(xt[idx]), yt[idx])
            loss.backward()
            opt.step()
            total += float(loss) * len(idx)
        acc = evaluate(model, x_test, y_test)
        print("epoch %d: train loss %.4f, test accuracy %.4f (%.1f s)"
              % (epoch + 1, total / len(xt), acc, time.time() - t0))
    train_time = time.time() - t0
    acc = evaluate(model, x_test, y_test)
    print("training time: %.1f s" % train_time)
    print("test accuracy: %.2f%% (%d/%d)"
          % (100 * acc, round(acc * len(x_test)), len(x_test)))

    # Reference logits of the first 100 test images, PyTorch in eval mode.
    model.eval()
    with torch.no_grad():
        ref = model(torch.from_numpy(x_test[:100])).numpy().astype(np.float32)
    ref_path = os.path.join(OUT_DIR, "logits_first100.npy")
    np.save(ref_path, ref)
    print("wrote %s %s" % (ref_path, ref.shape))

    # Export with a dynamic batch axis.
    onnx_path = os.path.join(OUT_DIR, "model.onnx")
    torch.onnx.export(model, torch.from_numpy(x_test[:1]), onnx_path,
                      opset_version=13, do_constant_folding=True,
                      input_names=["image"], output_names=["logits"],
                      dynamic_axes={"image": {0: "batch"},
                                    "logits": {0: "batch"}})
    m = onnx.load(onnx_path)
    onnx.checker.check_model(m, full_check=True)
    print("wrote %s (%d bytes), onnx.checker OK"
          % (onnx_path, os.path.getsize(onnx_path)))
    print("ONNX graph nodes (in order):")
    for n in m.graph.node:
        print("  %-10s %s -> %s" % (n.op_type, list(n.input), list(n.output)))
    ops = []
    for n in m.graph.node:
        if n.op_type not in ops:
            ops.append(n.op_type)
    print("ONNX op types: %s" % ", ".join(ops))
    print("initializers:")
    for t in m.graph.initializer:
        print("  %s %s" % (t.name, list(t.dims)))


if __name__ == "__main__":
    main()

"""The main demo: an MLP and a small CNN trained on scikit-learn's bundled
handwritten digits (``sklearn.datasets.load_digits``: 1,797 8x8 images of
0-9, shipped with scikit-learn, no download), by ordinary PyTorch-style code.

For each model it trains with Adam and a cosine learning-rate schedule over
a shuffled ``DataLoader``, showing a tqdm bar per epoch; saves a checkpoint,
reloads it into a fresh model and checks that the test accuracy is the
same; writes the loss and accuracy curves to a PNG with matplotlib; and,
when PyTorch is installed, trains the same model from the same initial
weights with PyTorch and prints the seconds per epoch side by side.

The training code takes the library as an argument (``rustgrad`` or
``torch``): one code path, run by both. Needs the ``demo`` extra
(``pip install -e '.[demo]'``: scikit-learn, tqdm, matplotlib).

Run: ``python -m rustgrad.demo [--quick] [--out DIR] [--no-torch]``.
Exit status 1 if a model misses its accuracy target (97%; 90% with
``--quick``).
"""

import argparse
import importlib
import pathlib
import sys
import time

import numpy as np

import rustgrad

TARGET, QUICK_TARGET = 0.97, 0.90


def load_data(seed):
    """The digits as ``(x_train, y_train, x_test, y_test)`` NumPy arrays:
    images ``(N, 1, 8, 8)`` float32 standardised with the training set's
    mean and standard deviation, labels int64; a stratified 80/20 split."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    digits = load_digits()
    x = digits.images.astype(np.float32)[:, None]
    y = digits.target.astype(np.int64)
    x_train, x_test, y_train, y_test = train_test_split(x, y, test_size=0.2, stratify=y, random_state=seed)
    mean, std = x_train.mean(), x_train.std()
    return (x_train - mean) / std, y_train, (x_test - mean) / std, y_test


def build(torch, name):
    """The model ``name`` built with library ``torch``: "mlp" (64-256-128-10
    with batch norm and dropout) or "cnn" (two 3x3 conv, batch norm, ReLU
    and 2x2 max-pool stages of 32 and 64 channels, dropout, a linear
    classifier)."""
    nn = torch.nn
    if name == "mlp":
        return nn.Sequential(
            nn.Flatten(),
            nn.Linear(64, 256), nn.BatchNorm1d(256), nn.ReLU(), nn.Dropout(0.3),
            nn.Linear(256, 128), nn.BatchNorm1d(128), nn.ReLU(), nn.Dropout(0.3),
            nn.Linear(128, 10))
    return nn.Sequential(
        nn.Conv2d(1, 32, kernel_size=3, padding=1), nn.BatchNorm2d(32), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(32, 64, kernel_size=3, padding=1), nn.BatchNorm2d(64), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Dropout(0.3), nn.Linear(64 * 2 * 2, 10))


def accuracy(torch, model, x, y):
    """The fraction of ``x`` that ``model`` labels as ``y``."""
    model.eval()
    with torch.no_grad():
        predicted = model(x).argmax(dim=1)
    model.train()
    return (predicted == y).float().mean().item()


def train(torch, model, data, epochs, seed, label, progress=True):
    """Trains ``model`` (Adam, lr 3e-3 with cosine annealing, batches of 64,
    cross-entropy) and returns its history: per-epoch mean training loss,
    test accuracy and training seconds."""
    from tqdm import tqdm

    x_train, y_train, x_test, y_test = (torch.from_numpy(a) for a in data)
    generator = torch.Generator().manual_seed(seed)
    loader = torch.utils.data.DataLoader(
        torch.utils.data.TensorDataset(x_train, y_train), batch_size=64, shuffle=True, generator=generator)
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=epochs)
    loss_fn = torch.nn.CrossEntropyLoss()
    history = {"loss": [], "accuracy": [], "seconds": []}
    for epoch in range(1, epochs + 1):
        start, total, batches = time.perf_counter(), 0.0, 0
        bar = tqdm(loader, desc=f"{label} epoch {epoch}/{epochs}", leave=False, disable=not progress, file=sys.stderr)
        for xb, yb in bar:
            optimizer.zero_grad()
            loss = loss_fn(model(xb), yb)
            loss.backward()
            optimizer.step()
            total, batches = total + loss.item(), batches + 1
        scheduler.step()
        history["seconds"].append(time.perf_counter() - start)
        history["loss"].append(total / batches)
        history["accuracy"].append(accuracy(torch, model, x_test, y_test))
    return history


def same_weights(torch, model, source):
    """``model`` (a PyTorch one) with the weights of ``source`` (rustgrad's),
    loaded through ``state_dict``."""
    model.load_state_dict({k: torch.from_numpy(v.detach().numpy().copy()) for k, v in source.state_dict().items()})
    return model


def checkpoint_round_trip(name, model, out, data):
    """Saves ``model``'s weights, loads them into a fresh model and returns
    the reloaded model's test accuracy and the file's path."""
    path = out / f"digits_{name}.safetensors"
    rustgrad.save(model.state_dict(), path)
    fresh = build(rustgrad, name)
    fresh.load_state_dict(rustgrad.load(path))
    x_test, y_test = rustgrad.from_numpy(data[2]), rustgrad.from_numpy(data[3])
    return accuracy(rustgrad, fresh, x_test, y_test), path


def plot(histories, path):
    """Loss and accuracy per epoch for every (model, library) run."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    for (name, library), h in histories.items():
        epochs = range(1, len(h["loss"]) + 1)
        style = "-" if library == "rustgrad" else "--"
        left.plot(epochs, h["loss"], style, label=f"{name} ({library})")
        right.plot(epochs, [100 * a for a in h["accuracy"]], style, label=f"{name} ({library})")
    left.set(title="training loss (cross-entropy)", xlabel="epoch", yscale="log")
    right.set(title="test accuracy (%)", xlabel="epoch", ylim=(90, 100))
    for ax in (left, right):
        ax.grid(alpha=0.3)
        ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def parse(argv):
    parser = argparse.ArgumentParser(prog="python -m rustgrad.demo", description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="3 epochs (accuracy target 90%%)")
    parser.add_argument("--epochs", type=int, default=None, help="epochs per model (default 30, quick 3)")
    parser.add_argument("--out", type=pathlib.Path, default=pathlib.Path("digits-demo"),
                        help="folder for the checkpoints and the curves (default ./digits-demo)")
    parser.add_argument("--no-torch", action="store_true", help="do not compare with PyTorch")
    parser.add_argument("--no-progress", action="store_true", help="no tqdm bars")
    parser.add_argument("--seed", type=int, default=0)
    return parser.parse_args(argv)


def main(argv=()):
    args = parse(list(argv))
    epochs = args.epochs or (3 if args.quick else 30)
    target = QUICK_TARGET if args.quick else TARGET
    torch = None
    if not args.no_torch:
        try:
            torch = importlib.import_module("torch")
        except ImportError:
            print("PyTorch is not installed: training with rustgrad only.")
    args.out.mkdir(parents=True, exist_ok=True)
    data = load_data(args.seed)
    print(f"digits: {len(data[0])} training and {len(data[2])} test images of 8x8 pixels, 10 classes; "
          f"{epochs} epochs per model")
    histories, rows, ok = {}, [], True
    for name in ("mlp", "cnn"):
        rustgrad.manual_seed(args.seed)
        model = build(rustgrad, name)
        reference = same_weights(torch, build(torch, name), model) if torch else None
        h = histories[name, "rustgrad"] = train(rustgrad, model, data, epochs, args.seed, f"{name} rustgrad",
                                                not args.no_progress)
        reloaded, path = checkpoint_round_trip(name, model, args.out, data)
        final = h["accuracy"][-1]
        print(f"{name}: test accuracy {100 * final:.1f}% after {epochs} epochs; checkpoint {path} reloaded: "
              f"{100 * reloaded:.1f}%{' (same)' if reloaded == final else ' (DIFFERENT)'}")
        ok = ok and final >= target and reloaded == final
        row = [name, np.median(h["seconds"]), final]
        if torch:
            torch.manual_seed(args.seed)
            t = histories[name, "PyTorch"] = train(torch, reference, data, epochs, args.seed, f"{name} PyTorch",
                                                   not args.no_progress)
            row += [np.median(t["seconds"]), t["accuracy"][-1]]
        rows.append(row)
    curves = args.out / "digits_curves.png"
    plot(histories, curves)
    print(f"\ncurves: {curves}")
    print("\nseconds per epoch (median), test accuracy:")
    header = f"{'model':6} {'rustgrad':>10} {'acc':>7}"
    if torch:
        header += f" {'PyTorch ' + torch.__version__.split('+')[0]:>14} {'acc':>7} {'rustgrad/PyTorch':>17}"
    print(header)
    for row in rows:
        line = f"{row[0]:6} {row[1]:>9.3f}s {100 * row[2]:>6.1f}%"
        if torch:
            line += f" {row[3]:>13.3f}s {100 * row[4]:>6.1f}% {row[1] / row[3]:>16.2f}x"
        print(line)
    if not ok:
        print(f"a model missed the {100 * target:.0f}% accuracy target (or its checkpoint did not reload the same)")
    return 0 if ok else 1

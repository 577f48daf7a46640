#!/usr/bin/env python3
"""Time GAN training steps in TensorFlow on the CPU with one thread.

This is the TensorFlow side of Agon's training benchmark
(scripts/bench/compare-tensorflow.sh runs it next to `agon bench train`).

Two models, both Keras Sequential, both trained with
Adam(lr=1e-4, beta_1=0.9, beta_2=0.999, epsilon=1e-7) for G and for D:

  mlp    G: Dense(128, relu) -> Dense(784, tanh) -> Reshape(28, 28, 1)
         D: Flatten -> Dense(128, relu) -> Dense(1, sigmoid)
         loss: BinaryCrossentropy() on probabilities
  dcgan  the TensorFlow DCGAN tutorial at full size (G: Dense 7*7*256 + BN +
         LeakyReLU, ConvTranspose 128/64/1 with 5x5 kernels; D: Conv 64/128
         5x5 stride 2 + LeakyReLU + Dropout(0.3), Dense(1));
         loss: BinaryCrossentropy(from_logits=True)

One training step (the TF DCGAN-tutorial loop, simultaneous update):

  z ~ N(0, 1) of shape (B, 100); x = a batch of real images in [-1, 1]
  fake = G(z, training=True); d_real = D(x); d_fake = D(fake)
  d_loss = BCE(1, d_real) + BCE(0, d_fake); g_loss = BCE(1, d_fake)
  both gradients from this one forward pass (two GradientTapes),
  then both optimizers apply their gradients.

D is called with training=True, as in the tutorial (it matters for dcgan's
Dropout only).

Modes: `function` wraps the step in @tf.function; `eager` runs the very same
Python step eagerly.

Usage:
  python tf_gan_bench.py --model mlp --batch 32 --mode function --json
  python tf_gan_bench.py --model mlp --batch 64 --train-steps 2000

The first prints one JSON line with the median steps/s over --runs timed
runs and the process's peak RSS; the second only trains (for a peak-memory
comparison measured from outside, e.g. with /usr/bin/time -f %M).
"""

import os

# Single-threaded everywhere, before TensorFlow (or anything that might load
# an OpenMP runtime) is imported.
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("TF_NUM_INTRAOP_THREADS", "1")
os.environ.setdefault("TF_NUM_INTEROP_THREADS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import argparse
import gzip
import json
import resource
import statistics
import struct
import sys
import time

import tensorflow as tf

# Must run before any op executes (it fails once the runtime is initialized).
tf.config.threading.set_intra_op_parallelism_threads(1)
tf.config.threading.set_inter_op_parallelism_threads(1)

import keras  # noqa: E402  (after the thread settings on purpose)
import numpy as np  # noqa: E402

DEFAULT_DATA = "/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz"
LATENT = 100
SEED = 1234

# Without --steps, each timed run is sized from a short calibration (after the
# warm-up) to last about --target-seconds (default 3 s).  On one core of a
# recent x86 server that is roughly 2000 steps (mlp, batch 32, function),
# 80 (mlp eager: Keras 3 eager is slow), 20 (dcgan function), 10 (dcgan eager).
DEFAULT_TARGET_SECONDS = 3.0
CALIBRATION_SECONDS = 0.5
DEFAULT_WARMUP = {"mlp": 20, "dcgan": 3}


def log(msg):
    print(f"[tf_gan_bench] {msg}", file=sys.stderr, flush=True)


def peak_rss_mb():
    # Linux reports ru_maxrss in KiB.
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def current_rss_mb():
    try:
        with open("/proc/self/statm") as f:
            pages = int(f.read().split()[1])
        return pages * os.sysconf("SC_PAGE_SIZE") / (1024.0 * 1024.0)
    except OSError:
        return float("nan")


# ---------------------------------------------------------------------------
# Data


def load_idx_images(path):
    """Parse a gzip'd IDX3 image file; returns uint8 array (N, H, W)."""
    with gzip.open(path, "rb") as f:
        raw = f.read()
    magic, n, h, w = struct.unpack(">IIII", raw[:16])
    if magic != 2051:
        raise ValueError(f"{path}: bad IDX3 magic {magic:#x}")
    if len(raw) != 16 + n * h * w:
        raise ValueError(f"{path}: {len(raw) - 16} bytes of pixels, expected {n * h * w}")
    return np.frombuffer(raw, dtype=np.uint8, offset=16).reshape(n, h, w)


def make_batches(path, batch, max_images, rng):
    """Pre-batch the training set into a list of float32 tf constants
    (B, 28, 28, 1) in [-1, 1], shuffled once with a fixed seed; the last,
    partial batch is dropped (so tf.function never retraces)."""
    if os.path.exists(path):
        images = load_idx_images(path)
        source = "fashion-mnist"
    else:
        log(f"note: {path} not found; using random data in [-1, 1] instead")
        images = None
        source = "random"
    n = images.shape[0] if images is not None else 60000
    if max_images > 0:
        n = min(n, max_images)
    if n < batch:
        raise SystemExit(f"need at least one full batch: {n} images < batch {batch}")
    order = rng.permutation(images.shape[0] if images is not None else n)[:n]
    batches = []
    for start in range(0, n - batch + 1, batch):
        if images is not None:
            u8 = images[order[start:start + batch]]
            x = u8.astype(np.float32) / np.float32(127.5) - np.float32(1.0)
        else:
            x = rng.uniform(-1.0, 1.0, size=(batch, 28, 28)).astype(np.float32)
        batches.append(tf.constant(x.reshape(batch, 28, 28, 1)))
    return batches, source


# ---------------------------------------------------------------------------
# Models


def build_mlp():
    g = keras.Sequential(
        [
            keras.Input(shape=(LATENT,)),
            keras.layers.Dense(128, activation="relu"),
            keras.layers.Dense(784, activation="tanh"),
            keras.layers.Reshape((28, 28, 1)),
        ],
        name="mlp_generator",
    )
    d = keras.Sequential(
        [
            keras.Input(shape=(28, 28, 1)),
            keras.layers.Flatten(),
            keras.layers.Dense(128, activation="relu"),
            keras.layers.Dense(1, activation="sigmoid"),
        ],
        name="mlp_discriminator",
    )
    return g, d, keras.losses.BinaryCrossentropy()


def build_dcgan():
    g = keras.Sequential(
        [
            keras.Input(shape=(LATENT,)),
            keras.layers.Dense(7 * 7 * 256, use_bias=False),
            keras.layers.BatchNormalization(),
            keras.layers.LeakyReLU(),
            keras.layers.Reshape((7, 7, 256)),
            keras.layers.Conv2DTranspose(128, (5, 5), strides=(1, 1), padding="same", use_bias=False),
            keras.layers.BatchNormalization(),
            keras.layers.LeakyReLU(),
            keras.layers.Conv2DTranspose(64, (5, 5), strides=(2, 2), padding="same", use_bias=False),
            keras.layers.BatchNormalization(),
            keras.layers.LeakyReLU(),
            keras.layers.Conv2DTranspose(1, (5, 5), strides=(2, 2), padding="same", use_bias=False,
                                         activation="tanh"),
        ],
        name="dcgan_generator",
    )
    d = keras.Sequential(
        [
            keras.Input(shape=(28, 28, 1)),
            keras.layers.Conv2D(64, (5, 5), strides=(2, 2), padding="same"),
            keras.layers.LeakyReLU(),
            keras.layers.Dropout(0.3),
            keras.layers.Conv2D(128, (5, 5), strides=(2, 2), padding="same"),
            keras.layers.LeakyReLU(),
            keras.layers.Dropout(0.3),
            keras.layers.Flatten(),
            keras.layers.Dense(1),
        ],
        name="dcgan_discriminator",
    )
    return g, d, keras.losses.BinaryCrossentropy(from_logits=True)


def make_adam():
    return keras.optimizers.Adam(learning_rate=1e-4, beta_1=0.9, beta_2=0.999, epsilon=1e-7)


def make_train_step(generator, discriminator, bce, g_opt, d_opt, batch):
    def train_step(x):
        z = tf.random.normal([batch, LATENT])
        with tf.GradientTape() as g_tape, tf.GradientTape() as d_tape:
            fake = generator(z, training=True)
            d_real = discriminator(x, training=True)
            d_fake = discriminator(fake, training=True)
            g_loss = bce(tf.ones_like(d_fake), d_fake)
            d_loss = bce(tf.ones_like(d_real), d_real) + bce(tf.zeros_like(d_fake), d_fake)
        g_grads = g_tape.gradient(g_loss, generator.trainable_variables)
        d_grads = d_tape.gradient(d_loss, discriminator.trainable_variables)
        g_opt.apply_gradients(zip(g_grads, generator.trainable_variables))
        d_opt.apply_gradients(zip(d_grads, discriminator.trainable_variables))
        return g_loss, d_loss

    return train_step


# ---------------------------------------------------------------------------


def run_steps(step, batches, start, count):
    """Run `count` steps cycling through `batches`; returns the next index and
    the last losses (fetched to the host, so the work is surely done)."""
    n = len(batches)
    i = start
    losses = None
    for _ in range(count):
        losses = step(batches[i])
        i = (i + 1) % n
    if losses is not None:
        losses = (float(losses[0].numpy()), float(losses[1].numpy()))
    return i, losses


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", choices=["mlp", "dcgan"], default="mlp")
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--mode", choices=["function", "eager"], default="function")
    p.add_argument("--steps", type=int, default=0,
                   help="timed steps per run (default: sized to last about --target-seconds)")
    p.add_argument("--target-seconds", type=float, default=DEFAULT_TARGET_SECONDS,
                   help="wanted length of one timed run when --steps is not given (default 3)")
    p.add_argument("--runs", type=int, default=3, help="timed runs; the median is reported (default 3)")
    p.add_argument("--warmup", type=int, default=0,
                   help="untimed warm-up steps after the first (tracing) step "
                        "(default: 20 for mlp, 3 for dcgan)")
    p.add_argument("--train-steps", type=int, default=0,
                   help="just train this many steps, no timing (for peak-memory comparisons)")
    p.add_argument("--data", default=DEFAULT_DATA, help="gzip'd IDX3 training images")
    p.add_argument("--max-images", type=int, default=0,
                   help="use at most this many training images (default: all)")
    p.add_argument("--seed", type=int, default=SEED)
    p.add_argument("--json", action="store_true", help="print one JSON line on stdout")
    args = p.parse_args(argv)

    if args.batch <= 0:
        p.error("--batch must be positive")

    baseline_rss = current_rss_mb()
    keras.utils.set_random_seed(args.seed)  # python, numpy and tf seeds
    rng = np.random.default_rng(args.seed)

    batches, source = make_batches(args.data, args.batch, args.max_images, rng)
    data_mb = sum(int(np.prod(b.shape)) for b in batches) * 4 / (1024.0 * 1024.0)

    generator, discriminator, bce = build_mlp() if args.model == "mlp" else build_dcgan()
    g_opt, d_opt = make_adam(), make_adam()
    # Create the optimizer slots now, outside any tf.function.
    g_opt.build(generator.trainable_variables)
    d_opt.build(discriminator.trainable_variables)

    step = make_train_step(generator, discriminator, bce, g_opt, d_opt, args.batch)
    if args.mode == "function":
        step = tf.function(step)

    intra = tf.config.threading.get_intra_op_parallelism_threads()
    inter = tf.config.threading.get_inter_op_parallelism_threads()

    common = {
        "framework": "tensorflow",
        "mode": args.mode,
        "model": args.model,
        "batch": args.batch,
        "threads": intra,
    }
    extra = {
        "inter_op_threads": inter,
        "tf_version": tf.__version__,
        "keras_version": keras.__version__,
        "data": source,
        "data_batches": len(batches),
        "data_mb": round(data_mb, 1),
        "baseline_rss_mb": round(baseline_rss, 1),
    }

    if args.train_steps > 0:
        t0 = time.perf_counter()
        _, losses = run_steps(step, batches, 0, args.train_steps)
        elapsed = time.perf_counter() - t0
        result = dict(common)
        result.update({
            "train_steps": args.train_steps,
            "seconds": round(elapsed, 3),
            "peak_rss_mb": round(peak_rss_mb(), 1),
            "final_g_loss": losses[0],
            "final_d_loss": losses[1],
        })
        result.update(extra)
        if args.json:
            print(json.dumps(result), flush=True)
        else:
            log(f"trained {args.train_steps} steps in {elapsed:.2f} s; "
                f"peak RSS {result['peak_rss_mb']:.1f} MiB; losses g={losses[0]:.4f} d={losses[1]:.4f}")
        return 0

    warmup = args.warmup if args.warmup > 0 else DEFAULT_WARMUP[args.model]
    runs = max(1, args.runs)

    # First step (traces the tf.function), then the warm-up.
    t0 = time.perf_counter()
    i, _ = run_steps(step, batches, 0, 1)
    first_step_s = time.perf_counter() - t0
    i, _ = run_steps(step, batches, i, warmup)

    if args.steps > 0:
        steps = args.steps
    else:
        # Calibrate: run for about CALIBRATION_SECONDS, then size the runs.
        done = 0
        t0 = time.perf_counter()
        while True:
            i, _ = run_steps(step, batches, i, max(1, done))  # doubling chunks
            done += max(1, done)
            elapsed = time.perf_counter() - t0
            if elapsed >= CALIBRATION_SECONDS:
                break
        steps = max(1, int(round(args.target_seconds * done / elapsed)))

    rates = []
    for r in range(runs):
        t0 = time.perf_counter()
        i, losses = run_steps(step, batches, i, steps)
        elapsed = time.perf_counter() - t0
        rates.append(steps / elapsed)
        if not args.json:
            log(f"run {r + 1}/{runs}: {steps} steps in {elapsed:.3f} s = {steps / elapsed:.2f} steps/s")
        if not (np.isfinite(losses[0]) and np.isfinite(losses[1])):
            log(f"warning: non-finite losses g={losses[0]} d={losses[1]}")

    median = statistics.median(rates)
    result = dict(common)
    result.update({
        "steps_per_s": round(median, 3),
        "samples_per_s": round(median * args.batch, 1),
        "peak_rss_mb": round(peak_rss_mb(), 1),
        "steps": steps,
        "runs": runs,
        "warmup": warmup,
        "runs_steps_per_s": [round(x, 3) for x in rates],
        "first_step_s": round(first_step_s, 3),
    })
    result.update(extra)
    if args.json:
        print(json.dumps(result), flush=True)
    else:
        print(f"{args.model} batch {args.batch} {args.mode}: {median:.2f} steps/s "
              f"({median * args.batch:.0f} samples/s), peak RSS {result['peak_rss_mb']:.1f} MiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())

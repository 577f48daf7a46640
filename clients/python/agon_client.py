"""Send a training loop's metrics and images to an Agon aggregator.

The event protocol of docs/PROTOCOL.md ("Events"), on pyzmq: every event gets a sequence
number, stays in a spool until the aggregator acknowledges it, and is sent again after a gap
or a silence, so that a restarted aggregator loses nothing. Each client is a new incarnation
of its source (its start time in microseconds), numbered from 0: a second process with the
same `source=` continues the same series and never collides with the first.

    from agon_client import AgonClient
    client = AgonClient("tcp://127.0.0.1:5556", source="tf-seed")
    for step in range(steps):
        ...
        client.log_scalars(step, {"g_loss": g_loss, "d_loss": d_loss})
    if not client.close():    # waits until everything is stored
        print(client.unacknowledged, "events were not stored")

With Keras: `model.fit(..., callbacks=[client.keras_callback()])` sends the logs of every
batch. With PyTorch: call `client.log_scalars(step, {...})` in the loop.
"""
import os
import socket
import struct
import sys
import time
import uuid

import zmq

VERSION = 3
KIND_EVENTS = 9
KIND_ACK = 10
RESEND_AFTER_S = 2.0
BATCH_BYTES = 512 * 1024


def _string(text):
    data = text.encode("utf-8")
    return struct.pack("<I", len(data)) + data


class AgonClient:
    """An event source connected to an aggregator."""

    def __init__(self, endpoint, source=None, run="", spool_limit=200_000):
        self.source = source or "python-" + uuid.uuid4().hex[:8]
        self.run = run
        # A new incarnation per process: its start in microseconds since 1970.
        self.incarnation = time.time_ns() // 1000
        self.refused = 0
        self.unacknowledged = 0
        self.spool_limit = spool_limit
        self._context = zmq.Context.instance()
        self._socket = self._context.socket(zmq.DEALER)
        self._socket.setsockopt(zmq.LINGER, 0)
        self._socket.connect(endpoint)
        self._spool = []          # (seq, encoded event bytes), from `_acknowledged` on
        self._acknowledged = 0
        self._sent_through = 0
        self._next_seq = 0
        self._last_send = time.monotonic()
        self._last_ack = time.monotonic()
        self._record(0, 3, _string(socket.gethostname()) + struct.pack("<ii", os.getpid(), -1))

    # What a loop calls.

    def log_scalars(self, step, values):
        """One event holding every named value of a step (numbers only)."""
        body = struct.pack("<i", len(values))
        for tag, value in values.items():
            body += _string(str(tag)) + struct.pack("<d", float(value))
        self._record(step, 1, body)

    def log_png(self, step, tag, width, height, png):
        """One PNG image (bytes) of `width` × `height` pixels."""
        self._record(step, 2, _string(tag) + struct.pack("<ii", width, height) + struct.pack("<I", len(png)) + png)

    def keras_callback(self):
        """A Keras callback sending each batch's logs, numbered by the global batch count."""
        import keras

        client = self

        class AgonCallback(keras.callbacks.Callback):
            def __init__(self):
                super().__init__()
                self.step = 0

            def on_train_batch_end(self, batch, logs=None):
                self.step += 1
                client.log_scalars(self.step, {k: v for k, v in (logs or {}).items() if isinstance(v, (int, float))})

        return AgonCallback()

    def close(self, timeout=30.0):
        """Sends what is left and waits until the aggregator has stored it.

        Returns True if every event was stored; otherwise False, with the count of events
        not acknowledged in `unacknowledged` (and of those refused, never to be stored, in
        `refused`), and a line on standard error saying so.
        """
        deadline = time.monotonic() + timeout
        self._send()
        while self._spool and time.monotonic() < deadline:
            self._pump(100)
            self._send()
        self.unacknowledged = len(self._spool)
        self._socket.close()
        if self.unacknowledged or self.refused:
            print(f"agon_client {self.source}: {self.unacknowledged} event(s) not acknowledged, {self.refused} refused by the aggregator",
                  file=sys.stderr)
        return self.unacknowledged == 0 and self.refused == 0

    # The protocol.

    def _record(self, step, code, body):
        while len(self._spool) >= self.spool_limit:
            self._pump(200)
            self._send()
        event = struct.pack("<qqdB", self._next_seq, int(step), time.time(), code) + body
        self._spool.append((self._next_seq, event))
        self._next_seq += 1
        self._pump(0)
        if self._next_seq - self._sent_through >= 2048 or time.monotonic() - self._last_send >= 0.25:
            self._send()

    def _send(self):
        if self._spool and self._sent_through > self._acknowledged and time.monotonic() - self._last_ack >= RESEND_AFTER_S:
            self._sent_through = self._acknowledged
            self._last_ack = time.monotonic()
        index = self._sent_through - self._acknowledged
        while index < len(self._spool):
            batch, size = [], 64
            while index < len(self._spool) and (not batch or size < BATCH_BYTES):
                batch.append(self._spool[index][1])
                size += len(self._spool[index][1])
                index += 1
            header = struct.pack("<BB", VERSION, KIND_EVENTS) + _string(self.run) + _string(self.source)
            header += struct.pack("<qqi", self.incarnation, 0, len(batch)) + b"".join(batch)
            self._socket.send(header)
            self._sent_through = self._spool[index - 1][0] + 1
        self._last_send = time.monotonic()

    def _pump(self, timeout_ms):
        while self._socket.poll(timeout_ms):
            timeout_ms = 0
            frame = self._socket.recv()
            if len(frame) < 2 or frame[0] != VERSION or frame[1] != KIND_ACK:
                continue
            (length,) = struct.unpack_from("<I", frame, 2)
            if frame[6:6 + length].decode("utf-8", "replace") != self.source:
                continue
            incarnation, next_sequence, received_through, refused = struct.unpack_from("<qqqi", frame, 6 + length)
            if incarnation != self.incarnation:
                continue
            if refused > 0:
                (reason_length,) = struct.unpack_from("<I", frame, 6 + length + 28)
                reason = frame[6 + length + 32:6 + length + 32 + reason_length].decode("utf-8", "replace")
                print(f"agon_client {self.source}: the aggregator refused {refused} event(s): {reason}", file=sys.stderr)
                self.refused += refused
            self._last_ack = time.monotonic()
            next_sequence = min(next_sequence, self._next_seq)
            if next_sequence > self._acknowledged:
                del self._spool[: next_sequence - self._acknowledged]
                self._acknowledged = next_sequence
            if next_sequence < received_through:
                self._sent_through = max(self._acknowledged, min(self._sent_through, next_sequence))

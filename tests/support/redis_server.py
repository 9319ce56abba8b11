"""A real ``redis-server`` (the OS package) on a free loopback port, for one test; and a
real three-master Redis Cluster (``redis_cluster``).

No persistence: a restart loses everything, as a crashed cache node would. Stopped by
PID. ``./run tests`` installs the package; without it these tests fail (never skip).
The fault helpers (``stall``, ``pause``, ``kill_pubsub``) act as a misbehaving Redis
would; ``clients`` counts the connections a named client holds.
"""

from __future__ import annotations

import contextlib
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import redis

from tests.support.processes import free_port, stop_process


class RedisServer:
    def __init__(self, *, cluster_dir: Path | None = None) -> None:
        binary = shutil.which("redis-server")
        assert binary is not None, "redis-server is not installed (./run tests installs it)"
        self.binary = binary
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self._cluster_dir = cluster_dir
        self._process: subprocess.Popen[bytes] | None = None
        self._stalled = False

    def start(self) -> None:
        assert self._process is None
        cluster: list[str] = []
        if self._cluster_dir is not None:
            cluster = [
                "--cluster-enabled", "yes",
                "--cluster-config-file", str(self._cluster_dir / f"nodes-{self.port}.conf"),
                "--cluster-port", str(free_port()),  # not port + 10000: may be taken or too high
                "--cluster-node-timeout", "5000",
                "--dir", str(self._cluster_dir),
            ]  # fmt: skip
        self._process = subprocess.Popen(
            [
                self.binary,
                "--port", str(self.port),
                "--bind", "127.0.0.1",
                "--save", "",
                "--appendonly", "no",
                "--protected-mode", "yes",
                "--enable-debug-command", "local",  # DEBUG SLEEP: a stalled Redis
                *cluster,
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )  # fmt: skip
        deadline = time.monotonic() + 10
        client = redis.Redis(port=self.port, socket_connect_timeout=1)
        try:
            while True:
                if self._process.poll() is not None:
                    stderr = self._process.stderr.read().decode() if self._process.stderr else ""
                    raise AssertionError(f"redis-server exited: {stderr}")
                try:
                    client.ping()
                    return
                except redis.ConnectionError:
                    assert time.monotonic() < deadline, "redis-server did not answer"
                    time.sleep(0.02)
        finally:
            client.close()

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is not None:
            if self._stalled and process.poll() is None:
                process.kill()  # a stalled Redis would not act on SIGTERM before it wakes
            self._stalled = False
            stop_process(process)

    def restart(self) -> None:
        self.stop()
        self.start()

    def client(self) -> redis.Redis:
        """A synchronous client, for looking at what the store wrote."""
        return redis.Redis(port=self.port)

    def stall(self, seconds: float) -> None:
        """Redis accepts connections and answers nothing for ``seconds`` (``DEBUG
        SLEEP``); returns at once."""
        self._stalled = True
        with socket.create_connection(("127.0.0.1", self.port), timeout=5) as connection:
            connection.sendall(f"DEBUG SLEEP {seconds}\r\n".encode())
            time.sleep(0.05)  # let it arrive before the connection closes

    def pause(self, seconds: float) -> None:
        """Every client's commands wait for ``seconds`` (``CLIENT PAUSE ... ALL``)."""
        self._stalled = True
        with contextlib.closing(self.client()) as client:
            client.execute_command("CLIENT", "PAUSE", int(seconds * 1000), "ALL")

    def kill_pubsub(self) -> int:
        """Drop every pub/sub connection (``CLIENT KILL TYPE pubsub``); how many."""
        with contextlib.closing(self.client()) as client:
            return int(client.execute_command("CLIENT", "KILL", "TYPE", "pubsub"))

    def pubsub_clients(self) -> int:
        """How many pub/sub connections are open."""
        with contextlib.closing(self.client()) as client:
            return len(client.client_list(_type="pubsub"))

    def clients(self, name: str) -> int:
        """How many connections named ``name`` (``CLIENT SETNAME``) are open."""
        with contextlib.closing(self.client()) as client:
            listed = client.client_list()
        return sum(1 for entry in listed if entry.get("name") == name)


class RedisClusterNodes:
    """Three masters, no replicas, on free loopback ports: a real Redis Cluster."""

    def __init__(self) -> None:
        self._dir = tempfile.TemporaryDirectory(prefix="uiwire-redis-cluster-")
        self.nodes = [RedisServer(cluster_dir=Path(self._dir.name)) for _ in range(3)]
        self.url = self.nodes[0].url

    def start(self) -> None:
        for node in self.nodes:
            node.start()
        cli = shutil.which("redis-cli")
        assert cli is not None, "redis-cli is not installed (./run tests installs it)"
        addresses = [f"127.0.0.1:{node.port}" for node in self.nodes]
        subprocess.run(
            [cli, "--cluster", "create", *addresses, "--cluster-replicas", "0", "--cluster-yes"],
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            timeout=30,
        )
        deadline = time.monotonic() + 20
        for node in self.nodes:  # every node agrees the slots are all served
            with contextlib.closing(node.client()) as client:
                while b"cluster_state:ok" not in client.execute_command("CLUSTER", "INFO"):
                    assert time.monotonic() < deadline, "the cluster did not come up"
                    time.sleep(0.05)

    def stop(self) -> None:
        for node in self.nodes:
            node.stop()
        self._dir.cleanup()


@contextlib.contextmanager
def redis_cluster() -> Iterator[RedisClusterNodes]:
    cluster = RedisClusterNodes()
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.stop()

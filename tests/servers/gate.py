"""A TCP gate in front of a real server: open, it forwards each connection to the server; shut, it
accepts connections and then says nothing, ever (a hung server, a half-dead link): what the watchdog and
the chaos bench need. Closing the gate ends every connection it holds."""

from __future__ import annotations

import contextlib
import socket
import threading


class Gate:
    def __init__(self, target_port: int, host: str = "127.0.0.1") -> None:
        self.target = (host, target_port)
        self.listener = socket.create_server((host, 0))
        self.port: int = self.listener.getsockname()[1]
        self.open = threading.Event()
        self.open.set()
        self.held: list[socket.socket] = []  # connections taken while shut, never answered
        self.accepted = 0
        self._lock = threading.Lock()
        threading.Thread(target=self._accept, name="gate", daemon=True).start()

    def shut(self) -> None:
        self.open.clear()

    def reopen(self) -> None:
        self.open.set()

    def held_count(self) -> int:
        with self._lock:
            return len(self.held)

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.listener.close()
        with self._lock:
            for conn in self.held:
                with contextlib.suppress(OSError):
                    conn.close()
            self.held.clear()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return  # closed
            with self._lock:
                self.accepted += 1
                if not self.open.is_set():
                    self.held.append(conn)
                    continue
            threading.Thread(target=self._forward, args=(conn,), daemon=True).start()

    def _forward(self, client: socket.socket) -> None:
        try:
            server = socket.create_connection(self.target)
        except OSError:
            client.close()
            return
        threading.Thread(target=_pump, args=(server, client), daemon=True).start()
        _pump(client, server)


def _pump(src: socket.socket, dst: socket.socket) -> None:
    try:
        while data := src.recv(65536):
            dst.sendall(data)
    except OSError:
        pass
    finally:
        for s in (src, dst):
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)

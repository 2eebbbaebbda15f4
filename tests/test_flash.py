# amaranth: UnusedElaboratable=no

import re

import numpy as np
import pytest
from amaranth.hdl import *
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out
from amaranth.sim import Simulator

from boards.platforms import BoardTop, get_board
from boards.flash import (
    CMD_READ, CMD_RELEASE_POWER_DOWN, FLASH_WEIGHTS_OFFSET, SPIFlashReader, weight_image,
    write_weight_image,
)


class FlashModel:
    """Behavioural SPI NOR flash in mode 0, clocked by the reader's SCK (seen once per clock
    cycle of the simulation).

    It starts in deep power-down (as the iCE40 leaves it after configuration) and then only
    answers ``0xAB``, which wakes it ``t_res1`` cycles after CS rises. Awake, it answers READ
    (``0x03``, 24-bit address, data MSB first until CS rises); anything else, or a command that
    starts before it is awake, is ignored. CIPO idles high (pull-up). COPI is sampled at rising
    edges of SCK, CIPO changes after falling edges.
    """
    def __init__(self, image, t_res1):
        self.image = image
        self.t_res1 = t_res1
        self.awake_at = None     # first cycle in which a command is taken
        self.selections = []     # (cycle CS fell, cycle CS rose, bits on COPI)
        self.reads = []          # addresses of the READ commands answered
        self.rising = []         # cycles of SCK rising edges
        self.cs_with_sck_high = False

    async def run(self, ctx, dut):
        cycle = 0
        selected = sck = 0
        bits = []
        start = None
        pointer = None           # bit address of the next output bit
        while True:
            new_selected, new_sck, copi = ctx.get(dut.cs), ctx.get(dut.sck), ctx.get(dut.copi)
            if new_selected != selected:
                self.cs_with_sck_high |= bool(new_sck or sck)
                if new_selected:
                    start, bits, pointer = cycle, [], None
                else:
                    self.selections.append((start, cycle, bits))
                    if bits == [(CMD_RELEASE_POWER_DOWN >> (7 - i)) & 1 for i in range(8)]:
                        self.awake_at = cycle + self.t_res1
                    ctx.set(dut.cipo, 1)
                selected = new_selected
            if selected and new_sck and not sck:
                self.rising.append(cycle)
                bits.append(copi)
                awake = self.awake_at is not None and start >= self.awake_at
                if len(bits) == 32 and awake and _value(bits[:8]) == CMD_READ:
                    address = _value(bits[8:32])
                    self.reads.append(address)
                    pointer = 8 * address
            if selected and sck and not new_sck and pointer is not None:
                byte = self.image[pointer // 8] if pointer // 8 < len(self.image) else 0xFF
                ctx.set(dut.cipo, (byte >> (7 - pointer % 8)) & 1)
                pointer += 1
            sck = new_sck
            await ctx.tick()
            cycle += 1


def _value(bits):
    return int("".join(map(str, bits)), 2)


def run_reader(n_words, offset, *, divisor, wake_cycles, ready_of_cycle, seed=0,
               extra_cycles=300, reader=None, image=None):
    """Simulates a reader against :class:`FlashModel` holding ``image`` (default: random
    bytes); a fake core takes words when ``ready_of_cycle(cycle)``. Returns the words received,
    the image, the model and the core's state (``last_word``: cycle of the last word; ``done``,
    ``valid``: after ``extra_cycles`` more)."""
    rng = np.random.default_rng(seed)
    if image is None:
        image = rng.integers(0, 256, offset + 2 * n_words + 64, dtype=np.uint8).tobytes()
    dut = reader or SPIFlashReader(n_words, offset, divisor=divisor, wake_cycles=wake_cycles)
    model = FlashModel(image, wake_cycles)
    received = []
    state = {}

    async def core(ctx):
        # The fake core's load port: ready when the pattern says so; takes a word at the edge
        # where valid and ready are both high.
        cycle = 0
        ctx.set(dut.cipo, 1)
        while len(received) < n_words and cycle < 200_000:
            ready = ready_of_cycle(cycle)
            ctx.set(dut.words.ready, ready)
            if ready and ctx.get(dut.words.valid):
                received.append(ctx.get(dut.words.payload))
            await ctx.tick()
            cycle += 1
        state["last_word"] = cycle
        ctx.set(dut.words.ready, 1)
        await ctx.tick().repeat(extra_cycles)
        state["done"] = ctx.get(dut.done)
        state["valid"] = ctx.get(dut.words.valid)

    sim = Simulator(dut)
    sim.add_clock(1e-6)
    async def flash(ctx):
        await model.run(ctx, dut)

    sim.add_testbench(flash, background=True)
    sim.add_testbench(core)
    sim.run()
    return received, image, model, state


def expected_words(image, offset, n_words):
    return [image[offset + 2 * i] | image[offset + 2 * i + 1] << 8 for i in range(n_words)]


READY_PATTERNS = {
    "always": lambda cycle: 1,
    "random": lambda cycle: int(np.random.default_rng(cycle).random() < 0.3),
    "slow":   lambda cycle: int(cycle % 301 == 0),  # far slower than the flash: SCK stops
}


@pytest.mark.parametrize("pattern", sorted(READY_PATTERNS))
@pytest.mark.parametrize("divisor", [1, 3])
def test_reader_streams_words(pattern, divisor):
    n_words, wake = 24, 40
    received, image, model, state = run_reader(
        n_words, FLASH_WEIGHTS_OFFSET, divisor=divisor, wake_cycles=wake,
        ready_of_cycle=READY_PATTERNS[pattern], seed=divisor)
    assert received == expected_words(image, FLASH_WEIGHTS_OFFSET, n_words)
    assert model.reads == [FLASH_WEIGHTS_OFFSET]
    # Two selections: the wake-up command, then READ, 32 + 16 * n_words bits.
    (wake_start, wake_end, wake_bits), (read_start, read_end, read_bits) = model.selections
    assert wake_bits == [1, 0, 1, 0, 1, 0, 1, 1]
    assert len(read_bits) == 32 + 16 * n_words
    # Nothing before the flash is awake: READ starts tRES1 after the wake-up command, and
    # no SCK edge is in between.
    assert read_start - wake_end >= wake
    assert not [c for c in model.rising if wake_end <= c < read_start]
    assert not model.cs_with_sck_high
    # SCK runs at f / (2 * divisor) while the core keeps up.
    first_rises = [c for c in model.rising if c > read_start][:33]
    assert set(np.diff(first_rises)) == {2 * divisor}
    if pattern == "slow":
        data_rises = [c for c in model.rising if c > read_start][32:]
        assert max(np.diff(data_rises)) > 50     # SCK stopped while the core was not ready
    # Idle afterwards: CS high, no edge, done.
    assert model.rising[-1] < read_end
    assert state["done"] == 1 and state["valid"] == 0


def test_reader_other_offset():
    # An odd offset near the start: the words straddle the image's byte pairs.
    received, image, model, state = run_reader(5, 0x123, divisor=2, wake_cycles=7,
                                               ready_of_cycle=READY_PATTERNS["always"])
    assert model.reads == [0x123]
    assert received == expected_words(image, 0x123, 5)


def test_reader_wakes_too_early_fails():
    # A reader that waits less than the flash needs gets no data (the model ignores its READ):
    # the test bench notices.
    dut = SPIFlashReader(4, 0x40, divisor=1, wake_cycles=5)
    received, image, model, state = run_reader(4, 0x40, divisor=1, wake_cycles=20,
                                               ready_of_cycle=READY_PATTERNS["always"],
                                               reader=dut)
    assert model.reads == []
    assert received != expected_words(image, 0x40, 4)
    assert received == [0xFFFF] * 4


def test_reader_parameters():
    with pytest.raises(ValueError, match=r"^n_words must be an integer of at least 1, not 0$"):
        SPIFlashReader(0, 0)
    with pytest.raises(ValueError, match=r"^divisor must be an integer of at least 1, not 0$"):
        SPIFlashReader(1, 0, divisor=0)
    with pytest.raises(ValueError, match=r"^offset must be an integer of at least 0, not -1$"):
        SPIFlashReader(1, -1)
    with pytest.raises(ValueError, match=r"^wake_cycles must be an integer of at least 1, "
                                         r"not 2\.5$"):
        SPIFlashReader(1, 0, wake_cycles=2.5)
    with pytest.raises(ValueError, match=r"^8 words at offset 0xfffff8 end at 0x1000008, "
                                         r"beyond the 24-bit address space \(0x1000000 bytes\)$"):
        SPIFlashReader(8, 0xFFFFF8)


def test_weight_image(tmp_path):
    assert weight_image([0x1234, 0xABCD, 0, 0xFFFF]) == b"\x34\x12\xcd\xab\x00\x00\xff\xff"
    assert weight_image(np.array([1, 2], dtype=np.uint16)) == b"\x01\x00\x02\x00"
    assert weight_image([]) == b""
    path = write_weight_image([0x0102, 0x0304], tmp_path / "weights.bin")
    assert path.read_bytes() == b"\x02\x01\x04\x03"
    with pytest.raises(ValueError, match=r"^Weight word 1 is 70000, not an unsigned 16-bit "
                                         r"value \(0\.\.65535\)$"):
        weight_image([1, 70000, -1])
    with pytest.raises(ValueError, match=r"^Weight word 0 is -1, not an unsigned 16-bit"):
        weight_image([-1])
    with pytest.raises(ValueError, match=r"^Weight words must be a sequence of integers, "
                                         r"not \[0\.5\]$"):
        weight_image([0.5])


def test_image_round_trip():
    # `weight_image` at FLASH_WEIGHTS_OFFSET of a flash full of other data: the reader
    # gives back the very words.
    rng = np.random.default_rng(7)
    words = [int(w) for w in rng.integers(0, 1 << 16, 9)]
    image = (rng.integers(0, 256, FLASH_WEIGHTS_OFFSET, dtype=np.uint8).tobytes()
             + weight_image(words) + b"\x5a" * 16)
    received, _, model, _ = run_reader(9, FLASH_WEIGHTS_OFFSET, divisor=1, wake_cycles=3,
                                       ready_of_cycle=READY_PATTERNS["random"], image=image)
    assert received == words


# The loader in the board top.

class LoadCore(wiring.Component):
    """Streaming accelerator-interface core with a weight load port (``load_words`` words after
    reset; ``load_ready`` only every other cycle). ``in_ready`` stays low until all words have
    arrived; readout register 0 is the sum of the words, register 1 their count."""
    n_inputs, input_bits, input_signed, readout_depth = 2, 8, False, 2

    def __init__(self, load_words=64):
        self.load_words = load_words
        super().__init__({
            "in_valid": In(1), "in_ready": Out(1), "in_data": In(8), "done": Out(1),
            "ack": In(1), "busy": Out(1), "rd_addr": In(1), "rd_data": Out(signed(32)),
            "load_valid": In(1), "load_ready": Out(1), "load_data": In(16),
        })

    def elaborate(self, platform):
        m = Module()
        count = Signal(range(self.load_words + 1))
        total = Signal(32)
        pace = Signal()
        inputs = Signal(range(self.n_inputs + 1))
        loaded = Signal(init=self.load_words == 0)     # count == load_words
        m.d.sync += pace.eq(~pace)
        with m.If(self.load_valid & self.load_ready & (count == self.load_words - 1)):
            m.d.sync += loaded.eq(1)
        m.d.comb += [
            self.load_ready.eq(~loaded & pace),
            self.in_ready.eq(loaded & (inputs != self.n_inputs)),
            self.busy.eq(inputs != 0),
        ]
        with m.If(self.load_valid & self.load_ready):
            m.d.sync += [count.eq(count + 1), total.eq(total + self.load_data)]
        with m.If(self.in_valid & self.in_ready):
            m.d.sync += inputs.eq(inputs + 1)
        with m.If(inputs == self.n_inputs):
            m.d.sync += self.done.eq(1)
        with m.If(self.ack):
            m.d.sync += [self.done.eq(0), inputs.eq(0)]
        m.d.sync += self.rd_data.eq(Mux(self.rd_addr, count, total))
        return m


def test_board_top_loads_the_core():
    # BoardTop without a platform: the flash model on the loader's pins, the words seen on
    # the core's load port.
    n_words = 12
    top = BoardTop(LoadCore(n_words), "icebreaker")
    loader, core = top.loader, top.link.core
    assert (loader.n_words, loader.offset) == (n_words, FLASH_WEIGHTS_OFFSET)
    assert (loader.divisor, loader.wake_cycles) == (2, 36)     # 12 MHz: SCK 3 MHz, 3 us
    rng = np.random.default_rng(3)
    image = rng.integers(0, 256, FLASH_WEIGHTS_OFFSET + 2 * n_words, dtype=np.uint8).tobytes()
    model = FlashModel(image, loader.wake_cycles)
    taken = []

    async def flash(ctx):
        await model.run(ctx, loader)

    async def watch(ctx):
        ctx.set(loader.cipo, 1)
        for _ in range(5000):
            if ctx.get(core.load_valid) and ctx.get(core.load_ready):
                taken.append(ctx.get(core.load_data))
            await ctx.tick()
        assert ctx.get(core.in_ready) == 1

    sim = Simulator(top)
    sim.add_clock(1 / 12e6)
    sim.add_testbench(flash, background=True)
    sim.add_testbench(watch)
    sim.run()
    assert taken == expected_words(image, FLASH_WEIGHTS_OFFSET, n_words)
    assert model.reads == [FLASH_WEIGHTS_OFFSET]


def test_board_top_flash_pins():
    top = BoardTop(LoadCore(), "icebreaker", clock_hz=42e6)
    plan = get_board("icebreaker").platform().build(top, name="top", do_build=False,
                                                    do_program=False)
    pins = dict(re.findall(r"set_io (spi_flash_1x_0__\w+__io) (\d+)", plan.files["top.pcf"]))
    assert pins == {"spi_flash_1x_0__cs__io": "16", "spi_flash_1x_0__clk__io": "15",
                    "spi_flash_1x_0__copi__io": "14", "spi_flash_1x_0__cipo__io": "17",
                    "spi_flash_1x_0__wp__io": "12", "spi_flash_1x_0__hold__io": "13"}
    assert (top.loader.divisor, top.loader.wake_cycles) == (2, 126)   # SCK 10.5 MHz
    assert BoardTop(LoadCore(0), "icebreaker").loader is None


def test_board_top_loader_errors():
    with pytest.raises(ValueError, match=r"^The core loads 64 weight words from the SPI flash "
                                         r"after reset, which only iCE40 boards do; board "
                                         r"'ulx3s' is ecp5$"):
        BoardTop(LoadCore(), "ulx3s")

    class NoPort(LoadCore):
        def __init__(self):
            super().__init__()
            del self.load_ready

    with pytest.raises(TypeError, match=r"has load_words = 64 but no port 'load_ready'$"):
        BoardTop(NoPort(), "icebreaker")

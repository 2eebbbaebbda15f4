# amaranth: UnusedElaboratable=no

import pytest
from amaranth.hdl import *
from amaranth.sim import Simulator

from boards.uart import UARTRx, UARTTx, uart_divisor


def frame_bits(byte, stop=1):
    """Line levels of one 8N1 frame: start bit, data bits LSB first, stop bit."""
    return [0] + [(byte >> i) & 1 for i in range(8)] + [stop]


async def drive_line(ctx, line, levels, divisor):
    for level in levels:
        ctx.set(line, level)
        await ctx.tick().repeat(divisor)


def run(dut, *testbenches, background=()):
    sim = Simulator(dut)
    sim.add_clock(1e-6)
    for testbench in background:
        sim.add_testbench(testbench, background=True)
    for testbench in testbenches:
        sim.add_testbench(testbench)
    sim.run()


def test_divisor():
    assert uart_divisor(12e6, 115200) == 104
    assert uart_divisor(25e6, 115200) == 217
    assert uart_divisor(1e6, 250000) == 4
    with pytest.raises(ValueError, match="at least 4"):
        uart_divisor(1e6, 500000)
    with pytest.raises(ValueError, match="error"):
        uart_divisor(1e6, 222222)  # divisor 4.5 -> 4, 12.5 % off
    with pytest.raises(ValueError, match="at least 4"):
        UARTRx(3)
    with pytest.raises(ValueError, match="at least 4"):
        UARTTx(2)


@pytest.mark.parametrize("divisor", [4, 5, 16])
def test_tx_waveform(divisor):
    dut = UARTTx(divisor)
    data = [0x55, 0x00, 0xFF, 0xA3]
    expected = []
    for byte in data:
        for level in frame_bits(byte):
            expected += [level] * divisor
    line = []

    async def testbench(ctx):
        assert ctx.get(dut.tx) == 1
        assert ctx.get(dut.i.ready) == 1
        await ctx.tick().repeat(3)
        for byte in data:
            # Back-to-back: offer the next byte as soon as the transmitter is ready.
            ctx.set(dut.i.payload, byte)
            ctx.set(dut.i.valid, 1)
            await ctx.tick().until(dut.i.ready)
            ctx.set(dut.i.valid, 0)
            for _ in range(10 * divisor - 1):
                line.append(ctx.get(dut.tx))
                assert ctx.get(dut.i.ready) == 0
                await ctx.tick()
            line.append(ctx.get(dut.tx))
            assert ctx.get(dut.i.ready) == 1
        for _ in range(2 * divisor):
            await ctx.tick()
            assert ctx.get(dut.tx) == 1

    run(dut, testbench)
    assert line == expected


@pytest.mark.parametrize("divisor", [4, 7, 16])
def test_rx(divisor):
    dut = UARTRx(divisor)
    data = [0x00, 0xFF, 0x5A, 0x81, 0x01, 0x80]
    received = []
    errors = []

    async def collect(ctx):
        async for _, _, valid, payload, err in ctx.tick().sample(dut.o.valid, dut.o.payload,
                                                                 dut.err):
            if valid:
                received.append(payload)
            if err:
                errors.append(len(received))

    async def testbench(ctx):
        ctx.set(dut.o.ready, 1)
        ctx.set(dut.rx, 1)
        await ctx.tick().repeat(5)
        for byte in data:
            await drive_line(ctx, dut.rx, frame_bits(byte), divisor)
        # A frame with a low stop bit is dropped and flagged.
        await drive_line(ctx, dut.rx, frame_bits(0x42, stop=0), divisor)
        await drive_line(ctx, dut.rx, [1], 2 * divisor)
        # A glitch shorter than half a bit is not a start bit.
        await drive_line(ctx, dut.rx, [0], 1)
        await drive_line(ctx, dut.rx, [1], 3 * divisor)
        await drive_line(ctx, dut.rx, frame_bits(0x3C), divisor)
        await ctx.tick().repeat(4 * divisor)

    run(dut, testbench, background=[collect])
    assert received == data + [0x3C]
    assert errors == [len(data)]


def test_rx_holds_until_ready():
    divisor = 4
    dut = UARTRx(divisor)

    async def testbench(ctx):
        ctx.set(dut.rx, 1)
        await ctx.tick().repeat(3)
        await drive_line(ctx, dut.rx, frame_bits(0x99), divisor)
        await ctx.tick().repeat(20)
        assert ctx.get(dut.o.valid) == 1
        assert ctx.get(dut.o.payload) == 0x99
        ctx.set(dut.o.ready, 1)
        await ctx.tick()
        ctx.set(dut.o.ready, 0)
        assert ctx.get(dut.o.valid) == 0

    run(dut, testbench)


class Loopback(Elaboratable):
    def __init__(self, divisor):
        self.tx = UARTTx(divisor)
        self.rx = UARTRx(divisor)

    def elaborate(self, platform):
        m = Module()
        m.submodules.tx = self.tx
        m.submodules.rx = self.rx
        m.d.comb += self.rx.rx.eq(self.tx.tx)
        return m


@pytest.mark.parametrize("divisor", [4, 9])
def test_loopback_all_bytes(divisor):
    dut = Loopback(divisor)
    data = list(range(256)) if divisor == 4 else [0x00, 0x7F, 0x80, 0xC3, 0xFF]
    received = []

    async def collect(ctx):
        ctx.set(dut.rx.o.ready, 1)
        async for _, _, valid, payload in ctx.tick().sample(dut.rx.o.valid, dut.rx.o.payload):
            if valid:
                received.append(payload)

    async def testbench(ctx):
        for byte in data:
            ctx.set(dut.tx.i.payload, byte)
            ctx.set(dut.tx.i.valid, 1)
            await ctx.tick().until(dut.tx.i.ready)
        ctx.set(dut.tx.i.valid, 0)
        await ctx.tick().repeat(12 * divisor)

    run(dut, testbench, background=[collect])
    assert received == data

"""Analytic resource model of the generated hardware (block RAM, SPRAM, logic, DSP).

Memory costs follow the FPGA's primitives (``docs/semantics.md`` §4, "Lanes and memory
placement"); logic costs are linear in the widths that the generator instantiates, with
coefficients calibrated against Yosys on the bundled models (:data:`LOGIC_COEFFS`).
"""

import math

from .hw.rom import LOGIC_MEMORY_BITS

__all__ = ["EBR_MODES", "ebr_blocks", "spram_blocks", "ff_memory_cells", "lut_rom_cells",
           "LC_PER_EBR", "default_placement", "result_placement"]

#: iCE40 EBR (4 kbit) aspect ratios ``(width, depth)``; per-bit write masks only at 16 bits.
EBR_MODES = ((16, 256), (8, 512), (4, 1024), (2, 2048))
#: Logic cells one iCE40 UP5K EBR is worth when placements are compared without a board
#: budget (5280 logic cells / 30 EBR).
LC_PER_EBR = 176
#: iCE40 UP5K SPRAM: 16 bits × 16384 words.
SPRAM_WIDTH, SPRAM_DEPTH = 16, 16384


def ebr_blocks(width, depth, lane_width=None):
    """iCE40 EBRs of a ``width × depth`` memory. With per-lane write enables (``lane_width``
    bits per lane) only the 16-bit mode masks bits, unless the lanes get columns of their own."""
    def best(w):
        return min(-(-w // mw) * -(-depth // md) for mw, md in EBR_MODES)
    if lane_width is None or lane_width == width:
        return best(width)
    masked = -(-width // 16) * -(-depth // 256)
    return min(masked, (width // lane_width) * best(lane_width))


def spram_blocks(width, depth):
    """UP5K SPRAMs of a ``width × depth`` single-port memory."""
    return -(-width // SPRAM_WIDTH) * -(-depth // SPRAM_DEPTH)


def ff_memory_cells(width, depth):
    """Logic cells of a memory in flip-flops: the bits, and a ``depth``-to-1 read multiplexer
    per bit (the iCE40 has no LUT RAM; a LUT4 is a 2-to-1 multiplexer)."""
    return width * depth + width * max(0, depth - 1)


def lut_rom_cells(width, depth):
    """Logic cells of a ROM in LUTs: a LUT4 holds 16 bits of one output, then multiplexers."""
    leaves = max(1, -(-depth // 16))
    return width * (leaves + max(0, leaves - 1))


def _membrane_width(layer, lanes):
    return lanes * layer.acc_bits


def default_placement(layer, lanes, static_input=False):
    """The placements a plan gets when nobody chose (no board budget): weights in logic when
    they fit :data:`~snnhw.hw.rom.LOGIC_MEMORY_BITS`, else block RAM; membranes in
    flip-flops when that costs fewer logic-cell equivalents than block RAM; DSP multipliers."""
    k = -(-layer.channels // lanes)
    depth = max(2, layer.positions * k)
    rom_bits = lanes * layer.weight_bits * max(2, layer.weight[0].size * k)
    width = _membrane_width(layer, lanes)
    ff = ff_memory_cells(width, depth)
    bram = ebr_blocks(width, depth, layer.acc_bits) * LC_PER_EBR
    return {"weights": "lut" if rom_bits <= LOGIC_MEMORY_BITS else "bram",
            "membranes": "ff" if ff < bram else "bram",
            "multipliers": "dsp"}


def result_placement(n_out, acc_bits):
    """Where the result buffer's two slots of ``n_out`` potentials go: the cheaper of
    flip-flops and block RAM (in logic-cell equivalents)."""
    ff = ff_memory_cells(acc_bits, 2 * n_out)
    return "ff" if ff < ebr_blocks(acc_bits, 2 * n_out) * LC_PER_EBR else "bram"

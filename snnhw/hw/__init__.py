"""Amaranth hardware: weight ROMs, synapse pipeline, fire units, layer engines, accelerator."""

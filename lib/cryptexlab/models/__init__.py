"""Forecasters: Time-LLM and its ablations, LLM backbones, naive and linear baselines."""

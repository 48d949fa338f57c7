"""Tables and figures over several runs: results of the shipped pair, the encoder cost curve, the issue-12
agreement study."""

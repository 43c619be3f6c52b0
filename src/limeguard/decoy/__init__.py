"""Decoy Fashion-MNIST (issue 25): the field's shortcut benchmark, with the methods it was made for
(vanilla, RRR with the true masks, counterexamples, the clean ceiling) beside our mined refinement."""

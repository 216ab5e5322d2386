"""The work officers do with answers: batch runs and the lists they export."""

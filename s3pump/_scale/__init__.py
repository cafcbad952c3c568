"""Scale beyond one core and one machine: partitions of the key space, and the executors
that run them (inline, local worker processes, a Ray cluster). See DESIGN §8."""

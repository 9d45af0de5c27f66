"""bench: measure what each Docker image-size technique really buys."""

__version__ = "0.1.0"

# Every object bench creates (images, containers, volumes, build contexts on disk) carries
# this label, and cleanup selects by it alone: bench never touches what it did not make.
LABEL = "org.bench.managed"

"""tutor: an offline, retrieval-grounded tutor for deep-learning interviews."""

__version__ = "0.1.0"

"""Generative models and the numbers that judge them (above train/, beside nothing: it uses
train's checkpoints, weight averaging and seeding): a CPU-sized DCGAN (gan.py), autoencoders
whose costs are counted in bits (vae.py), and metrics shared with every generator (metrics.py:
Fréchet distance and KID on a judge's features, diversity, class coverage, nearest training
images)."""

from pixelab.generate.gan import Discriminator, GANConfig, Generator, fit_gan, sample
from pixelab.generate.judge import judge
from pixelab.generate.metrics import (
    class_coverage,
    class_diversity,
    diversity,
    frechet_distance,
    kernel_distance,
    nearest_training,
)
from pixelab.generate.vae import Autoencoder, VAEConfig, fit_vae

__all__ = [
    "Autoencoder",
    "Discriminator",
    "GANConfig",
    "Generator",
    "VAEConfig",
    "class_coverage",
    "class_diversity",
    "diversity",
    "fit_gan",
    "fit_vae",
    "frechet_distance",
    "judge",
    "kernel_distance",
    "nearest_training",
    "sample",
]

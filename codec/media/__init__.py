"""Media I/O: images, audio, video; padding, cropping, tiling."""

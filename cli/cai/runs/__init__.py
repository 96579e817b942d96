"""What every model-running command shares: options, checks, resume, manifest, engine, progress, interrupts."""

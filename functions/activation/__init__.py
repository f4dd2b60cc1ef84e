"""Activation: provisioning of instant products (cPanel/WHM) and staff steps for manual/custom ones."""

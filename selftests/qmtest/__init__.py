"""Helpers for the qmgmt selftests, which run as root inside the VM."""

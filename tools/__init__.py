"""Helpers the noxfile imports; nothing here is part of the installed package."""

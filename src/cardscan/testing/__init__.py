"""Test support shipped with cardscan: a local Hub emulator (`hub`) and the fixture-corpus builders (`corpus`)."""

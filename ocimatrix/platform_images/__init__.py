"""Multi-platform images: built per builder and format, pulled per runner and platform."""

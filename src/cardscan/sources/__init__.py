"""Where bytes come from: the Hub over HTTP, a local folder or file, or the local Hugging Face cache."""

"""What one request carries: the typed Context and Info, the session cookie, the mailer,
selections."""

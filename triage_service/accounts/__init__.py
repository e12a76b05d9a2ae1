"""Who may use the service: GP systems (API clients), inbox users, their credentials and their own settings."""

"""In-app notifications, preferences and admin sends."""

"""Admin management of notification templates."""

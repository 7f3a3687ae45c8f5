"""The push relay: stored pushes → typed rows → routed messages in the outbox → the one sender."""

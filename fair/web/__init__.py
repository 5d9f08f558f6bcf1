"""HTTP boundary: routes grouped by audience, plus forms, auth, templating and error pages."""

"""Field options shared by the models of this app."""

MONEY = {"max_digits": 14, "decimal_places": 2}

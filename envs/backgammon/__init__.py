"""Backgammon: a fast numpy engine (`engine`) and Tesauro's pubeval benchmark player (`pubeval`)."""

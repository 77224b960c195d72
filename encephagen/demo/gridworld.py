"""A 2-D grid world and the closed-loop runner.

The agent starts at ``start`` and must reach ``goal`` on a ``width x height`` grid within
``max_steps`` moves (up, down, left, right; a move into a wall leaves it in place). Reward per
move: +1 when the Manhattan distance to the goal shrinks, -1 otherwise (a wall bump or a move
away); reaching the goal ends the episode. The observation the agent gets is the direction of
the goal (``up``/``down``/``left``/``right``: the axis with the larger distance; ties go to the
horizontal axis), which the brain sees as the arrow pattern of that name.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

ACTIONS = ("up", "down", "left", "right")
MOVES = {"up": (-1, 0), "down": (1, 0), "left": (0, -1), "right": (0, 1)}


@dataclass
class GridWorld:
    width: int = 5
    height: int = 5
    start: tuple[int, int] = (4, 0)   # (row, column)
    goal: tuple[int, int] = (0, 4)
    max_steps: int = 20

    def __post_init__(self):
        if self.width < 2 or self.height < 2:
            raise ValueError(f"grid world must be at least 2 x 2, got {self.width} x {self.height}")
        for name in ("start", "goal"):
            r, c = getattr(self, name)
            if not (0 <= r < self.height and 0 <= c < self.width):
                raise ValueError(f"grid world {name} {(r, c)} lies outside the {self.height} x {self.width} grid")
        if tuple(self.start) == tuple(self.goal):
            raise ValueError("grid world start equals goal")
        if self.max_steps < 1:
            raise ValueError("grid world max_steps must be >= 1")
        self.reset()

    def reset(self, start: tuple[int, int] | None = None) -> str:
        self.pos = tuple(start if start is not None else self.start)
        self.steps = 0
        self.done = False
        return self.observation()

    def distance(self, pos=None) -> int:
        r, c = self.pos if pos is None else pos
        return abs(r - self.goal[0]) + abs(c - self.goal[1])

    def observation(self) -> str:
        dr, dc = self.goal[0] - self.pos[0], self.goal[1] - self.pos[1]
        if abs(dc) >= abs(dr) and dc != 0:
            return "right" if dc > 0 else "left"
        return "down" if dr > 0 else "up"

    def step(self, action: int | str) -> tuple[str, float, bool]:
        if self.done:
            raise RuntimeError("grid world: the episode is over; reset() first")
        name = ACTIONS[action] if isinstance(action, (int, np.integer)) else str(action)
        if name not in MOVES:
            raise ValueError(f"grid world action {action!r}: must be one of {ACTIONS} or 0..3")
        d0 = self.distance()
        dr, dc = MOVES[name]
        r = min(max(self.pos[0] + dr, 0), self.height - 1)
        c = min(max(self.pos[1] + dc, 0), self.width - 1)
        self.pos = (r, c)
        self.steps += 1
        reward = 1.0 if self.distance() < d0 else -1.0
        reached = self.pos == tuple(self.goal)
        self.done = reached or self.steps >= self.max_steps
        return self.observation(), reward, reached


def run_closed_loop(world: GridWorld, agent, episodes: int, learn: bool = True) -> dict:
    """Episodes of ``agent.act(observation) -> action index`` and (if ``learn``)
    ``agent.reward(r)`` after each move. Returns per-episode success (goal reached) and moves."""
    success, moves, correct = [], [], []
    for _ in range(int(episodes)):
        obs = world.reset()
        reached = False
        while not world.done:
            a = agent.act(obs)
            correct.append(ACTIONS[a] == obs)
            obs, r, reached = world.step(a)
            if learn:
                agent.reward(r)
        success.append(bool(reached))
        moves.append(world.steps)
    return {"success": np.array(success), "moves": np.array(moves), "correct": np.array(correct)}


class RandomAgent:
    """Uniformly random moves (the chance level of a closed loop)."""

    def __init__(self, seed: int = 0):
        self.rng = np.random.default_rng(seed)

    def act(self, obs) -> int:
        return int(self.rng.integers(len(ACTIONS)))

    def reward(self, r) -> None:
        pass


def random_success_probability(world: GridWorld) -> float:
    """Exact probability that uniformly random moves reach the goal within ``max_steps`` (the
    chance level of the success rate), by propagating the position distribution."""
    p = np.zeros((world.height, world.width))
    p[tuple(world.start)] = 1.0
    hit = 0.0
    for _ in range(world.max_steps):
        q = np.zeros_like(p)
        for (r, c), m in np.ndenumerate(p):
            if m:
                for dr, dc in MOVES.values():
                    q[min(max(r + dr, 0), world.height - 1), min(max(c + dc, 0), world.width - 1)] += m / 4
        hit += q[tuple(world.goal)]
        q[tuple(world.goal)] = 0.0
        p = q
    return float(hit)

"""Hand-labelled completions with the verdict a careful human grader would give.

Each case: (domain, completion, gold, expected verdict of ``verify``). Written by us, not taken
from a model; they aim at the places verifiers go wrong: formatting of numbers, answers stated
and then corrected, several candidates, letters inside words, hedged yes/no, answers outside the
answer tag, and text that only looks like an answer.
"""

from __future__ import annotations

from typing import Any

Case = tuple[str, str, Any, bool]

GSM8K: list[Case] = [
    # plain and formatted numbers
    ("gsm8k", "#### 18", "#### 18", True),
    ("gsm8k", "She sells 16 - 3 - 4 = 9 eggs for 9 * 2 = $18.\n#### 18", "#### 18", True),
    ("gsm8k", "The total is 1,234 apples.", 1234, True),
    ("gsm8k", "The total is 1,234 apples.", "#### 1234", True),
    ("gsm8k", "The total is 1234 apples.", "#### 1,234", True),
    ("gsm8k", "He earns $1,234.50 per week.", 1234.5, True),
    ("gsm8k", "It costs $5.", 5, True),
    ("gsm8k", "It costs $ 5", 5, True),
    ("gsm8k", "The answer is 5 dollars.", 5, True),
    ("gsm8k", "She runs 12 miles.", 12, True),
    ("gsm8k", "The answer is 12.0", 12, True),
    ("gsm8k", "The answer is 12.00", "#### 12", True),
    ("gsm8k", "The answer is 12.5", 12, False),
    ("gsm8k", "The discount is 25%.", 25, True),
    ("gsm8k", "The discount is 25 %.", 25, True),
    ("gsm8k", "The temperature fell to -12 degrees.", -12, True),
    ("gsm8k", "The temperature fell to −12 degrees.", -12, True),
    ("gsm8k", "The balance is -$40.", -40, True),
    ("gsm8k", "The balance is $-40.", -40, True),
    ("gsm8k", "The temperature fell to -12 degrees.", 12, False),
    ("gsm8k", "She ate 3/4 of the pie.", 0.75, True),
    ("gsm8k", "She ate 3 / 4 of the pie.", 0.75, True),
    ("gsm8k", "The answer is \\boxed{\\frac{3}{4}}.", 0.75, True),
    ("gsm8k", "The answer is \\boxed{\\dfrac{1}{2}}.", 0.5, True),
    ("gsm8k", "The answer is .5", 0.5, True),
    ("gsm8k", "The answer is 0.5", "#### .5", True),
    ("gsm8k", "1,000,000 people came.", 1_000_000, True),
    ("gsm8k", "It is 10,000,000.", 10_000_000, True),
    ("gsm8k", "We need 1e5 grains.", 100_000, True),
    ("gsm8k", "The answer is 100000.0000001", 100_000, True),  # within 1e-6 relative
    ("gsm8k", "The answer is 100001", 100_000, False),
    ("gsm8k", "The answer is 0", 0, True),
    ("gsm8k", "The answer is 0.0000001", 0, False),
    # unicode digits
    ("gsm8k", "The answer is ١٢", 12, True),
    ("gsm8k", "The answer is １２", 12, True),
    ("gsm8k", "The answer is ۷", 7, True),
    # corrections and several candidates
    ("gsm8k", "The answer is not 5, it is 6.", 6, True),
    ("gsm8k", "The answer is not 5, it is 6.", 5, False),
    ("gsm8k", "First I thought 20, but 4 * 6 = 24. So the answer is 24.", 24, True),
    ("gsm8k", "First I thought 20, but 4 * 6 = 24. So the answer is 24.", 20, False),
    ("gsm8k", "3 + 4 = 7 apples. So she has 7 apples left.", 7, True),
    ("gsm8k", "She has 7 apples left (3 + 4).", 7, True),
    ("gsm8k", "She makes 18 ($2 each for 9 eggs)", 18, True),
    ("gsm8k", "x = 12", 12, True),
    ("gsm8k", "Total = 5 + 7 = 12", 12, True),
    ("gsm8k", "Total = 5 + 7 = 12", 5, False),
    ("gsm8k", "The result: 42", 42, True),
    ("gsm8k", "There are 3 boxes with 14 each, so 42 in total.", 42, True),
    ("gsm8k", "There are 3 boxes with 14 each, so 42 in total.", 14, False),
    # #### lines
    ("gsm8k", "#### 18\n#### 20", 20, True),
    ("gsm8k", "#### 18\n#### 20", 18, False),
    ("gsm8k", "Work...\n#### 18 dollars", 18, True),
    ("gsm8k", "#### $1,080", 1080, True),
    ("gsm8k", "#### 18\nI hope this helps! You have 3 more questions.", 18, True),
    ("gsm8k", "Answer 7 #### ", 7, True),  # empty #### line falls back to the text
    # answer tags
    ("gsm8k", "<think>9 * 2 = 18</think><answer>18</answer>", 18, True),
    ("gsm8k", "<think>9 * 2 = 18</think><answer>$18 dollars</answer>", 18, True),
    ("gsm8k", "<think>9 * 2 = 18</think><answer>17</answer> 18", 18, False),
    ("gsm8k", "<think>the total is 18</think><answer></answer> 18", 18, True),
    ("gsm8k", "<answer>5</answer> ... <answer>6</answer>", 6, True),
    ("gsm8k", "<answer>5</answer> ... <answer>6</answer>", 5, False),
    ("gsm8k", "<answer>12", 12, True),  # unclosed tag: the text still ends with 12
    ("gsm8k", "<answer>The answer is 12.</answer>", 12, True),
    ("gsm8k", "<answer>x = 3, so 12</answer>", 12, True),
    ("gsm8k", "\\boxed{42}", 42, True),
    ("gsm8k", "So \\boxed{41} is wrong, the answer is \\boxed{42}", 42, True),
    ("gsm8k", "\\boxed{42", 42, True),  # unbalanced: falls back to the text
    # nothing to read, or only look-alikes
    ("gsm8k", "I do not know.", 5, False),
    ("gsm8k", "", 0, False),
    ("gsm8k", "five", 5, False),  # number words are not parsed
    ("gsm8k", "version2 of model3", 2, False),
    ("gsm8k", "1" * 100, 1, False),  # digit run too long to be an answer
    ("gsm8k", "The answer is 12kg", 12, True),
    ("gsm8k", "Call 555-1234 now", 1234, False),
    ("gsm8k", "At 3:45 pm she left. The answer is 30.", 30, True),
    ("gsm8k", "In 2023 she had 15 cats.", 15, True),
    ("gsm8k", "In 2023 she had 15 cats.", 2023, False),
]

MMLU: list[Case] = [
    ("mmlu", "B", "B", True),
    ("mmlu", "b", "B", True),  # the whole reply is one letter
    ("mmlu", " (c) ", "C", True),
    ("mmlu", "<answer>b</answer>", "B", True),
    ("mmlu", "The answer is (b).", "B", True),
    ("mmlu", "The answer is (B).", 1, True),
    ("mmlu", "The answer is B.", "B", True),
    ("mmlu", "The answer is B.", "C", False),
    ("mmlu", "Answer: A", "A", True),
    ("mmlu", "answer: c", "C", True),
    ("mmlu", "B. Paris", "B", True),
    ("mmlu", "(C) 42", "C", True),
    ("mmlu", "[D]", "D", True),
    ("mmlu", "D)", "D", True),
    ("mmlu", "I think it's option D", "D", True),
    ("mmlu", "The correct choice is C", "C", True),
    ("mmlu", "<answer>C</answer>", "C", True),
    ("mmlu", "<answer>C</answer>", 2, True),
    ("mmlu", "<answer>(C)</answer>", "C", True),
    ("mmlu", "<answer>C. Mitochondria</answer>", "C", True),
    ("mmlu", "<answer>C</answer>", "D", False),
    ("mmlu", "<think>A is wrong, B is wrong</think><answer>D</answer>", "D", True),
    ("mmlu", "<think>A is wrong, B is wrong</think><answer>D</answer>", "A", False),
    ("mmlu", "A cat is not the answer. C", "C", True),
    ("mmlu", "A cat is not the answer. C", "A", False),
    ("mmlu", "Both A and B are wrong, so D.", "D", True),
    ("mmlu", "Both A and B are wrong, so D.", "A", False),
    ("mmlu", "It is not (A); the answer is (C).", "C", True),
    ("mmlu", "DNA is a molecule.", "D", False),  # letters inside words
    ("mmlu", "CBD oil and ABC news", "C", False),
    ("mmlu", "Based on Avogadro's number.", "A", False),
    ("mmlu", "I'd go with B", "B", True),
    ("mmlu", "Answer: (A)", "A", True),
    ("mmlu", "#### B", "B", True),
    ("mmlu", "\\boxed{C}", "C", True),
    ("mmlu", "\\boxed{\\text{C}}", "C", True),
    ("mmlu", "", "A", False),
    ("mmlu", "E", "A", False),
    ("mmlu", "The answer is E.", "A", False),
    ("mmlu", "Option B-12 is a vitamin.", "B", False),
    ("mmlu", "The answer is D, not A.", "D", True),
    ("mmlu", "A. Paris\nB. London\nC. Rome\nD. Berlin\nThe answer is B", "B", True),
    ("mmlu", "A. Paris\nB. London\nC. Rome\nD. Berlin\nThe answer is B", "D", False),
    ("mmlu", "Answer is b", 1, True),
    ("mmlu", "The answer is b", "A", False),
    ("mmlu", "choice: [c]", "C", True),
]

STRATEGYQA: list[Case] = [
    ("strategyqa", "Yes.", True, True),
    ("strategyqa", "Yes.", "yes", True),
    ("strategyqa", "Yes.", False, False),
    ("strategyqa", "No.", False, True),
    ("strategyqa", "no, it cannot.", False, True),
    ("strategyqa", "No, it cannot.", "no", True),
    ("strategyqa", "True", True, True),
    ("strategyqa", "False", False, True),
    ("strategyqa", "False", "yes", False),
    ("strategyqa", "The answer is yes.", True, True),
    ("strategyqa", "The answer is no.", False, True),
    ("strategyqa", "The answer is: No", False, True),
    ("strategyqa", 'The answer is "yes".', True, True),
    ("strategyqa", "Answer: true", True, True),
    ("strategyqa", "<answer>No.</answer>", False, True),
    ("strategyqa", "<answer>yes</answer>", True, True),
    ("strategyqa", "<answer>Yes, it is.</answer>", True, True),
    ("strategyqa", "<answer>yes</answer>", False, False),
    ("strategyqa", "<think>No one knows.</think><answer>yes</answer>", True, True),
    ("strategyqa", "Yes and no", True, False),  # hedged: no verdict either way
    ("strategyqa", "Yes and no", False, False),
    ("strategyqa", "<answer>yes or no</answer>", True, False),
    ("strategyqa", "<answer>yes or no</answer>", False, False),
    ("strategyqa", "Nobody knows. Not sure.", False, False),  # "No" inside "Nobody"
    ("strategyqa", "I know the answer. Nobody would do it. So yes.", True, True),
    ("strategyqa", "Notably, it is yes.", True, True),
    ("strategyqa", "It is not possible. So the answer is no.", False, True),
    ("strategyqa", "It is not possible. So the answer is no.", True, False),
    ("strategyqa", "Is it yes? No.", False, True),
    ("strategyqa", "Yesterday it rained.", True, False),
    ("strategyqa", "Yes! Definitely.", True, True),
    ("strategyqa", "YES", True, True),
    ("strategyqa", "That is correct.", True, True),
    ("strategyqa", "That is incorrect.", False, True),
    ("strategyqa", "#### yes", True, True),
    ("strategyqa", "#### no", True, False),
    ("strategyqa", "\\boxed{No}", False, True),
    ("strategyqa", "", True, False),
    ("strategyqa", "Maybe.", True, False),
    ("strategyqa", "Maybe.", False, False),
    ("strategyqa", "The answer is no, not yes.", False, True),
    ("strategyqa", "Some say yes. Others say no.", True, False),
    ("strategyqa", "It could be yes. But in fact, no.", False, True),
    ("strategyqa", "Yes, dolphins can swim.\nFinal answer: yes", True, True),
    ("strategyqa", "no", False, True),
]

ALL: list[Case] = GSM8K + MMLU + STRATEGYQA
